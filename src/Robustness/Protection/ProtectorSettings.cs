using Robustness.Models;
using Robustness.Training;
using static TorchSharp.torch;

namespace Robustness.Protection;

/// <summary>
/// The knobs people set on any protector from a command line or a benchmark table. Null means the method's own
/// default (the paper's). Each knob means one thing; a protector binds the knobs it has to its own options by name
/// and lists them in <see cref="ProtectorDefinition.Reads"/>, so one it does not read can be reported
/// (<see cref="ProtectorDefinition.Ignored"/>). One that needs checkpoints and gets none raises
/// <see cref="ArgumentException"/> naming <see cref="Checkpoints"/>.
/// </summary>
public sealed record ProtectorSettings
{
    /// <summary>l-inf budget on the [0,1] scale (8/255 by default).</summary>
    public double Epsilon { get; init; } = 8.0 / 255.0;

    /// <summary>SEP's iterations T over the checkpoint ensemble (30); null = default.</summary>
    public int? Iterations { get; init; }

    /// <summary>Error-minimising noise's PGD steps per round on each image's noise (20); null = default.</summary>
    public int? Steps { get; init; }

    /// <summary>Step size on the [0,1] scale (SEP: 1/255); null = default.</summary>
    public double? StepSize { get; init; }

    /// <summary>Checkpoints K taken from <see cref="Checkpoints"/> by the SEP selection rule; null = the method's default.</summary>
    public int? CheckpointCount { get; init; }

    /// <summary>Inner steps M of SEP-FA-VR; null = default (15).</summary>
    public int? InnerSteps { get; init; }

    /// <summary>The source model's training checkpoints (SEP and its variants, final-checkpoint).</summary>
    public CheckpointSet? Checkpoints { get; init; }

    /// <summary>Architecture of a model the method trains itself (error-minimising noise); null = the method's default.</summary>
    public ModelSpec? SurrogateSpec { get; init; }

    /// <summary>Where <see cref="SurrogateSpec"/>'s architecture is looked up: the host's registry (a module's family) or, when null, the built-in families.</summary>
    public ModelFamilyRegistry? Families { get; init; }

    /// <summary>Device to compute on; null = CPU.</summary>
    public Device? Device { get; init; }

    /// <summary>Seed of the method's randomness.</summary>
    public int Seed { get; init; }

    /// <summary>SEP and its variants: craft through random resized crops and flips (<see cref="SepOptions.ExpectationOverTransforms"/>).</summary>
    public bool ExpectationOverTransforms { get; init; }

    /// <summary>The optional knobs given a value (Iterations, Steps, StepSize, CheckpointCount, InnerSteps, Checkpoints, SurrogateSpec, ExpectationOverTransforms when on), by property name.</summary>
    public IReadOnlyList<string> GivenKnobs()
    {
        var given = new List<string>();
        if (Iterations is not null) given.Add(nameof(Iterations));
        if (Steps is not null) given.Add(nameof(Steps));
        if (StepSize is not null) given.Add(nameof(StepSize));
        if (CheckpointCount is not null) given.Add(nameof(CheckpointCount));
        if (InnerSteps is not null) given.Add(nameof(InnerSteps));
        if (Checkpoints is not null) given.Add(nameof(Checkpoints));
        if (SurrogateSpec is not null) given.Add(nameof(SurrogateSpec));
        if (ExpectationOverTransforms) given.Add(nameof(ExpectationOverTransforms));
        return given;
    }
}

/// <summary>
/// One protector as the catalogue knows it: name, description, whether it needs checkpoints, and how to build it
/// from <see cref="ProtectorSettings"/>. The CLI and benchmarks look protectors up by name.
/// </summary>
/// <param name="Name">Catalogue name, e.g. <c>sep-fa</c>.</param>
/// <param name="Description">One line, with the paper.</param>
/// <param name="NeedsCheckpoints">Reads <see cref="ProtectorSettings.Checkpoints"/>.</param>
/// <param name="Create">Builds the protector; raises <see cref="ArgumentException"/> for settings it cannot honour.</param>
public sealed record ProtectorDefinition(string Name, string Description, bool NeedsCheckpoints, Func<ProtectorSettings, IDataProtector> Create)
{
    /// <summary>
    /// The <see cref="ProtectorSettings"/> knobs the protector binds to its options, by property name; the others do
    /// not change it. Empty = not declared (nothing is reported as ignored).
    /// </summary>
    public IReadOnlyList<string> Reads { get; init; } = [];

    /// <summary>The knobs <paramref name="settings"/> gives that this protector does not read (to warn about), by property name.</summary>
    public IReadOnlyList<string> Ignored(ProtectorSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return Reads.Count == 0 ? [] : settings.GivenKnobs().Except(Reads, StringComparer.Ordinal).ToArray();
    }

    /// <summary>Builds the protector, checking first that checkpoints are there when it needs them.</summary>
    public IDataProtector Build(ProtectorSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (NeedsCheckpoints && (settings.Checkpoints is null || settings.Checkpoints.Count == 0))
            throw new ArgumentException($"Protector '{Name}' needs the source model's training checkpoints; none were given.", nameof(settings));
        return Create(settings);
    }
}
