using static TorchSharp.torch;

namespace Robustness.Pruning;

/// <summary>
/// What a pruning decision removes at once. A granularity turns a weight tensor and a sparsity into a keep mask of
/// the weight's own shape, so <see cref="PruningMask"/> and <see cref="MaskSet"/> work the same for every granularity:
/// unstructured pruning removes single weights (<see cref="UnstructuredGranularity"/>, the only one implemented now);
/// a channel-level granularity would keep or drop whole output channels and return their mask broadcast to the
/// weight's shape.
/// </summary>
public interface IPruningGranularity
{
    /// <summary>A short name for reports (<c>unstructured</c>, <c>channel</c>, ...).</summary>
    string Name { get; }

    /// <summary>
    /// A bool tensor of <paramref name="weight"/>'s shape and device, true where a weight is kept, removing the
    /// fraction <paramref name="sparsity"/> (in [0, 1]) of the weight's units by magnitude.
    /// </summary>
    Tensor KeepMask(Tensor weight, double sparsity);
}

/// <summary>Unstructured pruning: each weight is its own unit; the smallest magnitudes go (<see cref="MagnitudeProjection"/>).</summary>
public sealed class UnstructuredGranularity : IPruningGranularity
{
    /// <summary>The one instance.</summary>
    public static UnstructuredGranularity Instance { get; } = new();

    private UnstructuredGranularity() { }

    /// <inheritdoc />
    public string Name => "unstructured";

    /// <inheritdoc />
    public Tensor KeepMask(Tensor weight, double sparsity) => MagnitudeProjection.KeepMask(weight, sparsity);

    /// <inheritdoc />
    public override string ToString() => Name;
}
