using Robustness.Validation;
using static TorchSharp.torch;

namespace Robustness.Pruning;

/// <summary>Which recipe a pruner built from <see cref="PrunerSettings"/> starts from.</summary>
public enum PruningProfile
{
    /// <summary>The paper's CIFAR-10 recipe (<see cref="PwoaOptions.Paper"/>, <see cref="MagnitudePruningOptions.Paper"/>).</summary>
    Paper,

    /// <summary>The short CPU profile (<see cref="PwoaOptions.FastCpu"/>, <see cref="MagnitudePruningOptions.FastCpu"/>).</summary>
    Fast,
}

/// <summary>
/// The knobs people set on any pruner from a command line or a benchmark table. Null means the profile's value. A
/// pruner ignores knobs it does not have: the magnitude baselines have no ADMM phase and read
/// <see cref="RetrainEpochs"/> as their fine-tuning epochs.
/// </summary>
public sealed record PrunerSettings
{
    /// <summary>Fraction of weights zeroed in every pruned layer, in [0, 1) (4x = 0.75).</summary>
    public double Sparsity { get; init; } = 0.75;

    /// <summary>ADMM epochs (PwoA and its ablations); null = the profile's (paper 50, fast 6).</summary>
    public int? AdmmEpochs { get; init; }

    /// <summary>Masked retraining / fine-tuning epochs; null = the profile's (paper 100, fast 6).</summary>
    public int? RetrainEpochs { get; init; }

    /// <summary>The recipe the other knobs start from.</summary>
    public PruningProfile Profile { get; init; } = PruningProfile.Paper;

    /// <summary>Images per step; null = the profile's (paper 128, fast 64).</summary>
    public int? BatchSize { get; init; }

    /// <summary>
    /// Where the caller loads the teacher (the CLI, the benchmarks); null = CPU. Every pruner computes on its
    /// teacher's device, so this is a request to whoever loads the model, not an option of the pruner.
    /// </summary>
    public Device? Device { get; init; }

    /// <summary>Seed (>= 0) of the pruner's randomness.</summary>
    public int Seed { get; init; }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first knob out of range; returns this.</summary>
    public PrunerSettings Validate()
    {
        Require.Sparsity(Sparsity, nameof(Sparsity));
        if (AdmmEpochs is int admm) Require.AtLeast(admm, 0, nameof(AdmmEpochs));
        if (RetrainEpochs is int retrain) Require.AtLeast(retrain, 0, nameof(RetrainEpochs));
        if (!Enum.IsDefined(Profile)) throw new ArgumentOutOfRangeException(nameof(Profile), Profile, "Profile must be Paper or Fast.");
        // Only PwoA needs two samples a batch (HSIC); its own options check that, so magnitude pruning may use 1.
        if (BatchSize is int batch) Require.BatchSize(batch, nameof(BatchSize));
        Require.AtLeast(Seed, 0, nameof(Seed));
        return this;
    }

    /// <summary>PwoA's options for these settings: the profile, then every knob that is set.</summary>
    public PwoaOptions ToPwoaOptions()
    {
        Validate();
        var o = Profile == PruningProfile.Fast ? PwoaOptions.FastCpu(Sparsity) : PwoaOptions.Paper(Sparsity);
        return o with
        {
            AdmmEpochs = AdmmEpochs ?? o.AdmmEpochs,
            RetrainEpochs = RetrainEpochs ?? o.RetrainEpochs,
            BatchSize = BatchSize ?? o.BatchSize,
            Seed = Seed,
        };
    }

    /// <summary>The magnitude baselines' options for these settings (<see cref="RetrainEpochs"/> = fine-tuning epochs).</summary>
    public MagnitudePruningOptions ToMagnitudeOptions()
    {
        Validate();
        var o = Profile == PruningProfile.Fast ? MagnitudePruningOptions.FastCpu(Sparsity) : MagnitudePruningOptions.Paper(Sparsity);
        return o with
        {
            Epochs = RetrainEpochs ?? o.Epochs,
            BatchSize = BatchSize ?? o.BatchSize,
            Seed = Seed,
        };
    }

    /// <summary>
    /// Parses a sparsity as people write it: a fraction in [0, 1) (<c>0.75</c>), a percentage (<c>75%</c>) or a
    /// compression ratio (<c>4x</c> = 0.75, <c>16x</c> = 0.9375; the ratio must be >= 1).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Not a number in range, naming <paramref name="parameterName"/>.</exception>
    public static double ParseSparsity(string text, string parameterName = "sparsity")
    {
        ArgumentNullException.ThrowIfNull(text);
        string t = text.Trim();
        var c = System.Globalization.CultureInfo.InvariantCulture;
        var style = System.Globalization.NumberStyles.Float;
        double value;
        if (t.EndsWith('x') || t.EndsWith('X'))
        {
            if (!double.TryParse(t[..^1], style, c, out double ratio) || !double.IsFinite(ratio) || ratio < 1)
                throw new ArgumentOutOfRangeException(parameterName, text, $"{parameterName}: a compression ratio must be a number >= 1 followed by x (4x = 0.75); got '{text}'.");
            value = 1 - 1 / ratio;
        }
        else if (t.EndsWith('%'))
        {
            if (!double.TryParse(t[..^1], style, c, out double percent) || !double.IsFinite(percent))
                throw new ArgumentOutOfRangeException(parameterName, text, $"{parameterName}: not a percentage: '{text}'.");
            value = percent / 100;
        }
        else if (!double.TryParse(t, style, c, out value) || !double.IsFinite(value))
        {
            throw new ArgumentOutOfRangeException(parameterName, text, $"{parameterName} must be a fraction in [0, 1), a percentage (75%) or a ratio (4x); got '{text}'.");
        }
        if (!(value >= 0 && value < 1))
            throw new ArgumentOutOfRangeException(parameterName, text, $"{parameterName} must be in [0, 1) (a ratio 4x = 0.75); got '{text}'.");
        return value;
    }
}

/// <summary>
/// One pruner as the catalogue knows it: name, description, and how to build it from <see cref="PrunerSettings"/>.
/// The CLI and benchmarks look pruners up by name (<see cref="BuiltInPruners"/>).
/// </summary>
/// <param name="Name">Catalogue name, e.g. <c>pwoa</c>; the built pruner reports it as its <see cref="IPruner.Name"/>.</param>
/// <param name="Description">One line, with the paper.</param>
/// <param name="Create">Builds the pruner from validated settings.</param>
public sealed record PrunerDefinition(string Name, string Description, Func<PrunerSettings, IPruner> Create)
{
    /// <summary>Validates <paramref name="settings"/> and builds the pruner.</summary>
    public IPruner Build(PrunerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return Create(settings.Validate());
    }
}
