using System.Globalization;

namespace Robustness.Protection.Batch;

/// <summary>
/// Which part of a folder one process protects: shard <see cref="Index"/> of <see cref="Count"/> takes the batches
/// k with k mod Count == Index, so shards never share a batch (and so never write the same file) and together cover
/// every batch. Written <c>i/n</c> on the command line (0-based i, as Slurm array and Kubernetes indexed jobs number).
/// </summary>
/// <param name="Index">0-based shard number, in [0, Count).</param>
/// <param name="Count">Number of shards, >= 1.</param>
public readonly record struct Shard(int Index, int Count)
{
    /// <summary>The whole folder in one process (0/1).</summary>
    public static Shard Whole { get; } = new(0, 1);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> unless 0 &lt;= Index &lt; Count.</summary>
    public Shard Validate()
    {
        if (Count < 1) throw new ArgumentOutOfRangeException(nameof(Count), Count, "The shard count must be >= 1.");
        if (Index < 0 || Index >= Count)
            throw new ArgumentOutOfRangeException(nameof(Index), Index, $"The shard index must be in [0, {Count - 1}] for {Count} shard(s).");
        return this;
    }

    /// <summary>True when batch <paramref name="batchIndex"/> belongs to this shard.</summary>
    public bool Owns(int batchIndex) => batchIndex % Count == Index;

    /// <summary>Parses <c>i/n</c>; throws <see cref="FormatException"/> or <see cref="ArgumentOutOfRangeException"/> saying what is wrong.</summary>
    public static Shard Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split('/');
        if (parts.Length != 2
            || !int.TryParse(parts[0].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int index)
            || !int.TryParse(parts[1].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int count))
            throw new FormatException($"'{text}' is not a shard: write i/n with 0 <= i < n, e.g. 3/8.");
        return new Shard(index, count).Validate();
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Index}/{Count}");
}
