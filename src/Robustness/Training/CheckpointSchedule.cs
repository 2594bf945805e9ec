using Robustness.Validation;
namespace Robustness.Training;

/// <summary>
/// Which epochs the trainer keeps a snapshot of. Epochs are 0-based indices; the snapshot of epoch e holds the
/// weights after epoch e finished. <see cref="Every"/>(k) keeps epochs k-1, 2k-1, ... (after k, 2k, ... epochs), so
/// <c>Every(4)</c> over 120 epochs ends at 119, as SEP's checkpoint selection expects.
/// </summary>
public sealed class CheckpointSchedule
{
    private readonly int _interval;
    private readonly int[] _epochs;

    private CheckpointSchedule(int interval, int[] epochs, bool includeFinal)
    {
        _interval = interval;
        _epochs = epochs;
        IncludeFinal = includeFinal;
    }

    /// <summary>No snapshots.</summary>
    public static CheckpointSchedule None { get; } = new(0, [], includeFinal: false);

    /// <summary>A snapshot after every epoch (SEP keeps one per epoch).</summary>
    public static CheckpointSchedule EveryEpoch { get; } = new(1, [], includeFinal: false);

    /// <summary>Only the final epoch.</summary>
    public static CheckpointSchedule FinalOnly { get; } = new(0, [], includeFinal: true);

    /// <summary>A snapshot after every <paramref name="epochs"/> epochs, optionally also after the final epoch.</summary>
    public static CheckpointSchedule Every(int epochs, bool includeFinal = false)
    {
        if (epochs < 1) throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "The checkpoint interval must be >= 1 epoch.");
        return new CheckpointSchedule(epochs, [], includeFinal);
    }

    /// <summary>Snapshots at the given 0-based epoch indices, optionally also after the final epoch.</summary>
    public static CheckpointSchedule AtEpochs(IEnumerable<int> epochIndices, bool includeFinal = false)
    {
        ArgumentNullException.ThrowIfNull(epochIndices);
        var epochs = epochIndices.Distinct().Order().ToArray();
        if (epochs.Length > 0 && epochs[0] < 0)
            throw new ArgumentOutOfRangeException(nameof(epochIndices), epochs[0], "Checkpoint epochs are 0-based indices and must be >= 0.");
        return new CheckpointSchedule(0, epochs, includeFinal);
    }

    /// <summary>The interval in epochs (0 when the schedule is a list).</summary>
    public int Interval => _interval;

    /// <summary>The explicit epoch indices (empty for interval schedules).</summary>
    public IReadOnlyList<int> ExplicitEpochs => _epochs;

    /// <summary>True when the final epoch is always kept.</summary>
    public bool IncludeFinal { get; }

    /// <summary>True when the snapshot of epoch <paramref name="epochIndex"/> of a run of <paramref name="totalEpochs"/> is kept.</summary>
    public bool ShouldSave(int epochIndex, int totalEpochs)
    {
        if (epochIndex < 0 || epochIndex >= totalEpochs) return false;
        if (IncludeFinal && epochIndex == totalEpochs - 1) return true;
        if (_interval > 0) return (epochIndex + 1) % _interval == 0;
        return Array.BinarySearch(_epochs, epochIndex) >= 0;
    }

    /// <summary>The epoch indices kept in a run of <paramref name="totalEpochs"/> epochs, ascending.</summary>
    public IReadOnlyList<int> EpochsFor(int totalEpochs)
    {
        Require.AtLeast(totalEpochs, 1, nameof(totalEpochs));
        return Enumerable.Range(0, totalEpochs).Where(e => ShouldSave(e, totalEpochs)).ToArray();
    }

    /// <summary>Explicit epochs must fall inside the run; the message names the option that holds this schedule.</summary>
    internal void Validate(int totalEpochs, string optionName)
    {
        if (_epochs.Length > 0 && _epochs[^1] >= totalEpochs)
            throw new ArgumentOutOfRangeException(optionName, _epochs[^1],
                $"{optionName} lists epoch index {_epochs[^1]}, but a run of {totalEpochs} epochs has indices 0 to {totalEpochs - 1}.");
    }

    /// <inheritdoc />
    public override string ToString()
    {
        string final = IncludeFinal ? " + final" : "";
        if (_interval > 0) return $"every {_interval} epoch(s){final}";
        if (_epochs.Length > 0) return $"epochs [{string.Join(", ", _epochs)}]{final}";
        return IncludeFinal ? "final only" : "none";
    }
}
