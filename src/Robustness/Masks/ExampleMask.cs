using Robustness.Training;

namespace Robustness.Masks;

/// <summary>
/// Training examples kept or dropped (data-level pruning: Tri-level E-ViT's example level, coresets). Applied through
/// the training loop's batch sampler (<see cref="Sampler"/>): the kept examples only, in the wrapped sampler's order and
/// batching, so the model, the data and the rest of the loop stay as they are. Immutable.
/// </summary>
public sealed class ExampleMask
{
    private readonly int[] _kept;

    /// <summary>Keeps the examples whose entry in <paramref name="keep"/> is true (one entry per example, at least one kept).</summary>
    public ExampleMask(IReadOnlyList<bool> keep)
    {
        ArgumentNullException.ThrowIfNull(keep);
        _kept = [.. Enumerable.Range(0, keep.Count).Where(i => keep[i])];
        if (_kept.Length == 0) throw new ArgumentOutOfRangeException(nameof(keep), "An example mask must keep at least one example.");
        Total = keep.Count;
    }

    /// <summary>Keeps <paramref name="indices"/> (distinct, in [0, <paramref name="total"/>)) of <paramref name="total"/> examples.</summary>
    public static ExampleMask FromIndices(int total, IEnumerable<int> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        var keep = new bool[Validation.Require.AtLeast(total, 1, nameof(total))];
        foreach (int i in indices)
        {
            if (i < 0 || i >= total) throw new ArgumentOutOfRangeException(nameof(indices), i, $"Example indices must be in [0, {total - 1}].");
            keep[i] = true;
        }
        return new ExampleMask(keep);
    }

    /// <summary>Examples in the collection.</summary>
    public int Total { get; }

    /// <summary>The kept examples' indices, ascending.</summary>
    public IReadOnlyList<int> Kept => _kept;

    /// <summary>Kept and total examples.</summary>
    public MaskReport Report() => new(MaskTarget.Examples, [new MaskPart("examples", _kept.Length, Total)]);

    /// <summary>A batch sampler that draws <paramref name="inner"/>'s batches from the kept examples only.</summary>
    public IBatchSampler Sampler(IBatchSampler inner) => new MaskedSampler(this, inner ?? throw new ArgumentNullException(nameof(inner)));

    private sealed class MaskedSampler(ExampleMask mask, IBatchSampler inner) : IBatchSampler
    {
        public int BatchesPerEpoch(int count) => inner.BatchesPerEpoch(Check(count));

        public IEnumerable<int[]> Batches(int epoch, int count, Random random) =>
            inner.Batches(epoch, Check(count), random).Select(batch => batch.Select(i => mask._kept[i]).ToArray());

        // The mask was made for a collection of this size; it returns the kept count the inner sampler draws from.
        private int Check(int count) => count == mask.Total
            ? mask._kept.Length
            : throw new ArgumentException($"This example mask is for {mask.Total} examples; the collection has {count}.", nameof(count));
    }
}
