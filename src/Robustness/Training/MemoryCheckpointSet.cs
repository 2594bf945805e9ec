using Robustness.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Training;

/// <summary>
/// Snapshots kept as CPU copies of the state dict (so GPU memory is not spent on them), together with what is
/// needed to rebuild the classifier: spec, normalisation and class names, which every snapshot must share.
/// </summary>
public sealed class MemoryCheckpointSet : CheckpointSet
{
    private readonly SortedDictionary<int, Dictionary<string, Tensor>> _snapshots = new();
    private ModelSpec? _spec;
    private ModelFamily? _family;
    private Normalization? _normalization;
    private IReadOnlyList<string>? _classNames;
    private bool _disposed;

    /// <inheritdoc />
    public override string? Folder => null;

    /// <inheritdoc />
    public override IReadOnlyList<int> Epochs => _snapshots.Keys.ToArray();

    /// <inheritdoc />
    public override string? PathOf(int epochIndex)
    {
        CheckHeld(epochIndex);
        return null;
    }

    /// <inheritdoc />
    public override void Add(int epochIndex, Classifier classifier)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckNewEpoch(epochIndex);
        if (_spec is not null && (_spec != classifier.Spec || _normalization != classifier.Normalization || !_classNames!.SequenceEqual(classifier.ClassNames)))
            throw new ArgumentException($"Every snapshot of a set must share one architecture, normalisation and class names; this set holds {_spec}.", nameof(classifier));

        var copies = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using (var scope = torch.NewDisposeScope())
        {
            // cpu() aliases a CPU tensor, so clone() makes the copy independent of further training.
            foreach (var (name, value) in classifier.Network.state_dict())
                copies[name] = value.detach().cpu().clone().DetachFromDisposeScope();
        }
        _snapshots[epochIndex] = copies;
        _spec ??= classifier.Spec;
        _family ??= classifier.Family;
        _normalization ??= classifier.Normalization;
        _classNames ??= classifier.ClassNames.ToArray();
    }

    /// <inheritdoc />
    public override Classifier Load(int epochIndex, Device? device = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckHeld(epochIndex);
        var family = _family ?? throw new NotSupportedException(
            $"The snapshots are of a network with no registered family ('{_spec!.Architecture}'), which cannot be rebuilt.");
        var classifier = new Classifier(family.Build(_spec!), _spec!, _normalization!, _classNames, family: family);
        try
        {
            using (torch.no_grad())
            {
                var stored = _snapshots[epochIndex];
                foreach (var (name, target) in classifier.Network.state_dict())
                    target.copy_(stored[name]);
            }
            classifier.Eval();
            if (device is not null) classifier.To(device);
            return classifier;
        }
        catch
        {
            classifier.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var snapshot in _snapshots.Values)
            foreach (var tensor in snapshot.Values) tensor.Dispose();
        _snapshots.Clear();
    }
}
