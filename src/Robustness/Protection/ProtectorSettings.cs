using Robustness.Models;
using Robustness.Training;
using static TorchSharp.torch;

namespace Robustness.Protection;

/// <summary>
/// The knobs people set on any protector from a command line or a benchmark table. Null means the method's own
/// default (the paper's). A protector ignores knobs it does not have; one that needs checkpoints and gets none
/// raises <see cref="ArgumentException"/> naming <see cref="Checkpoints"/>.
/// </summary>
public sealed record ProtectorSettings
{
    /// <summary>l-inf budget on the [0,1] scale (8/255 by default).</summary>
    public double Epsilon { get; init; } = 8.0 / 255.0;

    /// <summary>Outer iterations T (SEP: 30); null = default.</summary>
    public int? Iterations { get; init; }

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

    /// <summary>Device to compute on; null = CPU.</summary>
    public Device? Device { get; init; }

    /// <summary>Seed of the method's randomness.</summary>
    public int Seed { get; init; }
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
    /// <summary>Builds the protector, checking first that checkpoints are there when it needs them.</summary>
    public IDataProtector Build(ProtectorSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (NeedsCheckpoints && (settings.Checkpoints is null || settings.Checkpoints.Count == 0))
            throw new ArgumentException($"Protector '{Name}' needs the source model's training checkpoints; none were given.", nameof(settings));
        return Create(settings);
    }
}
