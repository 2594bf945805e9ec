using Robustness.Data;
using Robustness.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Protection;

/// <summary>Options of <see cref="RandomNoiseProtector"/>.</summary>
public sealed record RandomNoiseOptions : ProtectionOptions;

/// <summary>
/// The random-noise baseline of the SEP paper (Chen et al., ICLR 2023, Table 1 "random noise"): every channel of every
/// pixel moves by +eps or -eps with equal probability (the largest random change the budget allows), then the image is
/// clipped to [0,1] and quantised. A model trained on it barely suffers, which is what SEP is compared against.
/// </summary>
public sealed class RandomNoiseProtector : IDataProtector
{
    /// <summary>Creates the protector.</summary>
    public RandomNoiseProtector(RandomNoiseOptions? options = null)
    {
        Options = options ?? new RandomNoiseOptions();
        Options.Validate();
    }

    /// <summary>The catalogue entry.</summary>
    public static ProtectorDefinition Definition { get; } = new(
        "random", "Random +-eps sign noise (the baseline of Chen et al., ICLR 2023)", NeedsCheckpoints: false,
        s => new RandomNoiseProtector(new RandomNoiseOptions { Epsilon = s.Epsilon, Seed = s.Seed }))
    {
        Reads = [nameof(ProtectorSettings.Epsilon), nameof(ProtectorSettings.Seed)],
    };

    /// <summary>The options.</summary>
    public RandomNoiseOptions Options { get; }

    /// <inheritdoc />
    public string Name => "random";

    /// <inheritdoc />
    public bool ProtectsAnySize => true;

    /// <inheritdoc />
    public double Epsilon => Options.Epsilon;

    /// <inheritdoc />
    public IProtectionSession Prepare(IImageCollection clean, IProgress<ProtectionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(clean);
        return new Session(Options);
    }

    private sealed class Session(RandomNoiseOptions options) : IProtectionSession
    {
        public Tensor Protect(ImageBatch batch, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(batch);
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            using var generator = new Generator(ProtectionOptions.BatchSeed(options.Seed, batch.Indices.Length > 0 ? batch.Indices[0] : 0));
            var clean = batch.Images.cpu();
            var signs = randint(0, 2, clean.shape, generator: generator, dtype: float32).mul(Scalars.Two).sub(Scalars.One);
            using var epsilon = options.Epsilon.ToScalar();
            var perturbed = clean.add(signs.mul(epsilon)).clamp(Scalars.Zero, Scalars.One);
            return ProtectionQuantizer.Quantize(clean, perturbed, options.Epsilon).MoveToOuterDisposeScope();
        }

        public void Dispose()
        {
        }
    }
}
