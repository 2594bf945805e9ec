using Robustness.Validation;
using Robustness.Models;
using System.Collections;
using static TorchSharp.torch;

namespace Robustness.Training;

/// <summary>
/// The snapshots a training run kept, by 0-based epoch index: in memory (CPU copies of the state dict) or on
/// disk (one safetensors file per epoch plus a JSON index, see <see cref="Create"/>). Enumerating yields
/// <see cref="Checkpoint"/> handles that load a model only when asked, so a disk set never holds more than
/// the models its caller keeps.
/// </summary>
public abstract class CheckpointSet : IEnumerable<Checkpoint>, IDisposable
{
    /// <summary>A set that keeps CPU copies of the weights in memory. Dispose it to free them.</summary>
    public static CheckpointSet InMemory() => new MemoryCheckpointSet();

    /// <summary>
    /// A new disk set in <paramref name="folder"/> (created if needed): files <c>epoch-0007.safetensors</c> written
    /// atomically by <see cref="Classifier.Save(string)"/> and an index <c>checkpoints.json</c>. A folder that already holds
    /// an index is refused; use <see cref="Open"/> to add to it.
    /// </summary>
    /// <remarks><paramref name="families"/>: where loading looks architectures up (default: the built-in families).</remarks>
    public static CheckpointSet Create(string folder, ModelFamilyRegistry? families = null) => DiskCheckpointSet.CreateNew(folder, families);

    /// <summary>Re-opens a disk set written by <see cref="Create"/>; checks the index and that every file it lists exists.</summary>
    /// <remarks><paramref name="families"/>: where loading looks architectures up (the host's registry for a module's networks).</remarks>
    public static CheckpointSet Open(string folder, ModelFamilyRegistry? families = null) => DiskCheckpointSet.OpenExisting(folder, families);

    /// <summary>The folder of a disk set; null for an in-memory set.</summary>
    public abstract string? Folder { get; }

    /// <summary>The 0-based epoch indices held, ascending.</summary>
    public abstract IReadOnlyList<int> Epochs { get; }

    /// <summary>Number of snapshots.</summary>
    public int Count => Epochs.Count;

    /// <summary>True when the set holds epoch <paramref name="epochIndex"/>.</summary>
    public bool Contains(int epochIndex) => Epochs.Contains(epochIndex);

    /// <summary>Keeps a snapshot of <paramref name="classifier"/>'s weights and buffers as epoch <paramref name="epochIndex"/>.</summary>
    public abstract void Add(int epochIndex, Classifier classifier);

    /// <summary>A new classifier (eval mode) with the weights of epoch <paramref name="epochIndex"/>; the caller disposes it.</summary>
    public abstract Classifier Load(int epochIndex, Device? device = null);

    /// <summary>The file of epoch <paramref name="epochIndex"/> for disk sets; null in memory.</summary>
    public abstract string? PathOf(int epochIndex);

    /// <inheritdoc />
    public IEnumerator<Checkpoint> GetEnumerator() =>
        Epochs.ToArray().Select(e => new Checkpoint(this, e)).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees what the set holds (tensors of an in-memory set).</summary>
    protected virtual void Dispose(bool disposing)
    {
    }

    /// <summary>Throws when <paramref name="epochIndex"/> is negative or already held.</summary>
    protected void CheckNewEpoch(int epochIndex)
    {
        Require.AtLeast(epochIndex, 0, nameof(epochIndex));
        if (Contains(epochIndex)) throw new ArgumentException($"The checkpoint set already holds epoch {epochIndex}.", nameof(epochIndex));
    }

    /// <summary>Throws when <paramref name="epochIndex"/> is not held.</summary>
    protected void CheckHeld(int epochIndex)
    {
        if (!Contains(epochIndex))
            throw new ArgumentOutOfRangeException(nameof(epochIndex), epochIndex,
                $"The checkpoint set holds epochs [{string.Join(", ", Epochs)}] only.");
    }
}

/// <summary>One snapshot of a <see cref="CheckpointSet"/>: its epoch and a way to load it.</summary>
public sealed class Checkpoint
{
    private readonly CheckpointSet _set;

    internal Checkpoint(CheckpointSet set, int epochIndex)
    {
        _set = set;
        EpochIndex = epochIndex;
    }

    /// <summary>The 0-based epoch after which the snapshot was taken.</summary>
    public int EpochIndex { get; }

    /// <summary>The safetensors file of a disk set; null in memory.</summary>
    public string? Path => _set.PathOf(EpochIndex);

    /// <summary>A new classifier (eval mode) with this snapshot's weights; the caller disposes it.</summary>
    public Classifier Load(Device? device = null) => _set.Load(EpochIndex, device);

    /// <inheritdoc />
    public override string ToString() => $"epoch {EpochIndex}";
}
