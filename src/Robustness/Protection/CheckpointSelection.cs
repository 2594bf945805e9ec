namespace Robustness.Protection;

/// <summary>
/// SEP's rule for taking K of N training checkpoints, as the public SEP code applies it (ens.py): interval =
/// floor(N/K); for d = 0, 1, 2, ... take the Python slice ckpts[interval-d :: interval] until it holds exactly K.
/// A negative start counts from the end (Python's slicing), which is how the rule falls back to the last
/// checkpoints when no non-negative start fits. N=120: K=5 gives epochs 23, 47, 71, 95, 119; K=15 every 8th and
/// K=30 every 4th, ending at 119. N=50, K=30 (N &lt; 2K): the last 30.
/// </summary>
public static class CheckpointSelection
{
    /// <summary>
    /// Chooses <paramref name="count"/> of <paramref name="epochs"/> (any order; sorted ascending first, as the SEP code
    /// sorts its checkpoint files by epoch) and returns the chosen epochs ascending.
    /// </summary>
    public static IReadOnlyList<int> Select(IReadOnlyList<int> epochs, int count)
    {
        ArgumentNullException.ThrowIfNull(epochs);
        if (epochs.Count == 0) throw new ArgumentException("There are no checkpoints to select from.", nameof(epochs));
        if (count < 1 || count > epochs.Count)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"count must be in [1, {epochs.Count}] (the number of checkpoints).");
        var sorted = epochs.OrderBy(e => e).ToArray();
        int n = sorted.Length;
        int interval = n / count;
        // The start runs from interval down through negative values; slice lengths take every value from 1 to
        // ceil(N/interval) >= K on the negative side, so the loop always ends within interval + N + 1 tries.
        for (int shift = 0; shift <= interval + n + 1; shift++)
        {
            int start = PythonSliceStart(interval - shift, n);
            int length = start >= n ? 0 : (n - start + interval - 1) / interval;
            if (length == count)
                return Enumerable.Range(0, count).Select(i => sorted[start + i * interval]).ToArray();
        }
        throw new InvalidOperationException($"No checkpoint slice of length {count} out of {n}; this cannot happen.");
    }

    private static int PythonSliceStart(int start, int length) => start >= 0 ? start : Math.Max(0, length + start);
}
