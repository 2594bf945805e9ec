using Robustness.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Robustness.Pruning;

/// <summary>
/// One <see cref="PruningMask"/> per pruned parameter, by parameter name. Applies the masks to a classifier and
/// performs the masked optimisation step of masked retraining: the pruned gradients are zeroed before
/// <c>optimizer.step()</c> and the pruned weights re-zeroed after it, so neither momentum, weight decay nor Adam's
/// moment estimates can bring a pruned weight back. Owns its masks.
/// </summary>
public sealed class MaskSet : Training.IParameterUpdate, IDisposable
{
    private readonly Dictionary<string, PruningMask> _byName;
    private readonly List<PruningMask> _masks;

    /// <summary>Takes ownership of <paramref name="masks"/> (distinct parameter names).</summary>
    public MaskSet(IEnumerable<PruningMask> masks)
    {
        ArgumentNullException.ThrowIfNull(masks);
        _masks = masks.ToList();
        _byName = new Dictionary<string, PruningMask>(StringComparer.Ordinal);
        foreach (var mask in _masks)
            if (!_byName.TryAdd(mask.ParameterName, mask))
                throw new ArgumentException($"Two masks for parameter '{mask.ParameterName}'.", nameof(masks));
    }

    /// <summary>The masks, in the order given.</summary>
    public IReadOnlyList<PruningMask> Masks => _masks;

    /// <summary>The mask of <paramref name="parameterName"/>, or null.</summary>
    public PruningMask? this[string parameterName] => _byName.GetValueOrDefault(parameterName);

    /// <summary>Names of the masked parameters.</summary>
    public IReadOnlyList<string> ParameterNames => _masks.Select(m => m.ParameterName).ToArray();

    /// <summary>
    /// Masks that prune the fraction <paramref name="sparsity"/> of every prunable weight of <paramref name="classifier"/>
    /// (<see cref="PrunableParameters.Select(Classifier)"/>) at <paramref name="granularity"/> (unstructured by
    /// default). The weights are not changed; call <see cref="Apply"/>.
    /// </summary>
    public static MaskSet ByMagnitude(Classifier classifier, double sparsity, IPruningGranularity? granularity = null)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        MagnitudeProjection.CheckSparsity(sparsity);
        return ByMagnitude(PrunableParameters.Select(classifier), sparsity, granularity);
    }

    /// <summary>Masks that prune the fraction <paramref name="sparsity"/> of each of <paramref name="parameters"/>.</summary>
    public static MaskSet ByMagnitude(IEnumerable<PrunableParameter> parameters, double sparsity, IPruningGranularity? granularity = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        MagnitudeProjection.CheckSparsity(sparsity);
        granularity ??= UnstructuredGranularity.Instance;
        var masks = new List<PruningMask>();
        try
        {
            foreach (var p in parameters)
            {
                using var keep = granularity.KeepMask(p.Weight, sparsity);
                masks.Add(new PruningMask(p.Name, keep, granularity.Name));
            }
            return new MaskSet(masks);
        }
        catch
        {
            foreach (var m in masks) m.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Global magnitude pruning: one threshold over all of <paramref name="parameters"/> together, removing the
    /// round(p * n) smallest magnitudes of the n weights they hold (ties broken by position, as in
    /// <see cref="MagnitudeProjection"/>), so layers with small weights lose more than others (PyTorch's
    /// <c>prune.global_unstructured</c> with L1, as model parsing's victim zoo prunes its convolutions).
    /// The weights are not changed; call <see cref="Apply"/>.
    /// </summary>
    public static MaskSet ByGlobalMagnitude(IEnumerable<PrunableParameter> parameters, double sparsity)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        MagnitudeProjection.CheckSparsity(sparsity);
        var list = parameters.ToList();
        if (list.Count == 0) throw new ArgumentException("No parameters to prune.", nameof(parameters));
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var flat = torch.cat([.. list.Select(p => p.Weight.detach().abs().flatten())]);
        long pruned = MagnitudeProjection.PrunedCount(flat.numel(), sparsity);
        var keep = torch.ones(flat.numel(), ScalarType.Bool, flat.device);
        if (pruned > 0)
        {
            var (_, order) = flat.sort(0, descending: false, stable: true);
            keep.index_fill_(0, order.narrow(0, 0, pruned), Scalars.False);
        }
        var masks = new List<PruningMask>();
        long offset = 0;
        foreach (var p in list)
        {
            long n = p.Weight.numel();
            masks.Add(new PruningMask(p.Name, keep.narrow(0, offset, n).reshape(p.Weight.shape), "global-unstructured"));
            offset += n;
        }
        return new MaskSet(masks);
    }

    /// <summary>Masks that keep exactly the non-zero entries of <paramref name="parameters"/> (PwoA's hard prune: mask = W != 0).</summary>
    public static MaskSet FromNonZeros(IEnumerable<PrunableParameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var masks = new List<PruningMask>();
        foreach (var p in parameters) masks.Add(new PruningMask(p.Name, p.Weight, UnstructuredGranularity.Instance.Name));
        return new MaskSet(masks);
    }

    /// <summary>Zeroes the pruned weights of <paramref name="classifier"/> in place.</summary>
    public void Apply(Classifier classifier)
    {
        foreach (var (mask, parameter) in Bind(classifier)) mask.ZeroPruned(parameter);
    }

    /// <summary>Zeroes the pruned entries of every masked parameter's gradient (parameters without a gradient are skipped).</summary>
    public void MaskGradients(Classifier classifier)
    {
        foreach (var (mask, parameter) in Bind(classifier))
        {
            using var grad = parameter.grad;
            if (grad is not null) mask.ZeroPruned(grad);
        }
    }

    /// <summary>
    /// The masked step: zero the pruned gradients, <c>optimizer.step()</c>, re-zero the pruned weights. The first
    /// half stops the gradient from moving pruned weights; the second undoes what momentum buffers, weight decay or
    /// Adam's running moments did anyway, so the sparsity after the step is exactly the mask's.
    /// </summary>
    public void Step(Classifier classifier, optim.Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        MaskGradients(classifier);
        optimizer.step();
        Apply(classifier);
    }

    /// <summary>The training loop's weight update: <see cref="Step"/>.</summary>
    void Training.IParameterUpdate.Apply(Classifier model, optim.Optimizer optimizer) => Step(model, optimizer);

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var mask in _masks) mask.Dispose();
    }

    private List<(PruningMask Mask, Parameter Parameter)> Bind(Classifier classifier)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        var parameters = new Dictionary<string, Parameter>(StringComparer.Ordinal);
        foreach (var (name, p) in classifier.Network.named_parameters()) parameters[name] = p;
        var bound = new List<(PruningMask, Parameter)>(_masks.Count);
        foreach (var mask in _masks)
        {
            if (!parameters.TryGetValue(mask.ParameterName, out var parameter))
                throw new ArgumentException($"The network has no parameter '{mask.ParameterName}' that this mask set prunes.", nameof(classifier));
            bound.Add((mask, parameter));
        }
        return bound;
    }
}
