using Robustness.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Pruning;

/// <summary>
/// The keep mask of one pruned parameter: a bool tensor of the parameter's shape, true where the weight stays.
/// The mask is element-wise whatever the granularity that made it (a channel mask is stored broadcast), so applying
/// it never depends on how it was chosen. Owns its tensors.
/// </summary>
public sealed class PruningMask : IDisposable
{
    private readonly Tensor _keep;
    private readonly Tensor _pruned;

    /// <summary>Takes a copy of <paramref name="keep"/> (any dtype; non-zero = keep) for parameter <paramref name="parameterName"/>.</summary>
    public PruningMask(string parameterName, Tensor keep, string granularity = "unstructured")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(parameterName);
        ArgumentNullException.ThrowIfNull(keep);
        ArgumentException.ThrowIfNullOrWhiteSpace(granularity);
        ParameterName = parameterName;
        Granularity = granularity;
        using var _ = torch.no_grad();
        _keep = keep.detach().ne(Scalars.Zero).DetachFromDisposeScope();
        _pruned = _keep.logical_not().DetachFromDisposeScope();
        Total = _keep.numel();
        Kept = _keep.count_nonzero().item<long>();
    }

    /// <summary>The parameter's name as in <c>named_parameters()</c>.</summary>
    public string ParameterName { get; }

    /// <summary>How the mask was chosen (<see cref="IPruningGranularity.Name"/>).</summary>
    public string Granularity { get; }

    /// <summary>The mask: bool, the parameter's shape, true = kept. Do not dispose it; the mask owns it.</summary>
    public Tensor Keep => _keep;

    /// <summary>The parameter's shape.</summary>
    public long[] Shape => _keep.shape;

    /// <summary>Number of entries.</summary>
    public long Total { get; }

    /// <summary>Entries kept.</summary>
    public long Kept { get; }

    /// <summary>Entries pruned.</summary>
    public long Pruned => Total - Kept;

    /// <summary>Pruned / Total.</summary>
    public double Sparsity => Total == 0 ? 0 : (double)Pruned / Total;

    /// <summary>Sets the pruned entries of <paramref name="tensor"/> (the parameter, its gradient, an optimiser state) to zero in place.</summary>
    public void ZeroPruned(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!tensor.shape.SequenceEqual(_keep.shape))
            throw new ArgumentException($"Mask of '{ParameterName}' has shape [{string.Join(", ", _keep.shape)}]; the tensor has [{string.Join(", ", tensor.shape)}].", nameof(tensor));
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var pruned = _pruned.device == tensor.device ? _pruned : _pruned.to(tensor.device);
        tensor.masked_fill_(pruned, Scalars.Zero);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _keep.Dispose();
        _pruned.Dispose();
    }
}
