using Robustness.Pruning;

namespace Robustness.Masks;

/// <summary>
/// Individual weights kept or zeroed (PwoA's and magnitude pruning's <see cref="MaskSet"/>) under the common mask API.
/// Unstructured zeros do not make dense kernels faster, so <see cref="Materialise"/> is a copy with the zeros written
/// in: the same shapes, the same cost card; its saving is in storage once compressed, which the report states as kept
/// weights. Does not own the mask set.
/// </summary>
public sealed class WeightMask(MaskSet masks) : IModelMask
{
    private readonly MaskSet _masks = masks ?? throw new ArgumentNullException(nameof(masks));

    /// <summary>The weight masks.</summary>
    public MaskSet Masks => _masks;

    /// <inheritdoc />
    public MaskTarget Target => MaskTarget.Weights;

    /// <inheritdoc />
    public MaskReport Report(Classifier classifier) =>
        new(Target, [.. _masks.Masks.Select(m => new MaskPart(m.ParameterName, m.Kept, m.Total))]);

    /// <inheritdoc />
    public void Apply(Classifier classifier) => _masks.Apply(classifier);

    /// <inheritdoc />
    public Classifier Materialise(Classifier classifier)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        var copy = classifier.Clone();
        _masks.Apply(copy);
        return copy;
    }
}
