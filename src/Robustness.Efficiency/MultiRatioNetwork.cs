using Robustness.Masks;
using Robustness.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Robustness.Efficiency;

/// <summary>
/// All-in-One's network: one set of convolution and linear weights serving several channel ratios, each ratio a nested
/// slice of the full width (its first channels in every group, <see cref="ChannelSelection.Leading"/>) with batch norm
/// of its own (the small per-ratio parameters). Each ratio below 1 is a physically sliced dense network (a normal
/// <c>arch-spec</c> model) whose shared tensors are copied in from the full network before use and whose gradients are
/// added back into the full network's after a backward pass, so a ratio costs what its width costs, in training and in
/// inference. Owns its networks.
/// </summary>
/// <remarks>
/// Our decision where the paper gives none (no public code): nested, slimmable-style masks rather than learned soft
/// masks per ratio. Nested masks make every ratio a prefix of the next, so one weight set holds all of them with no mask
/// storage, a ratio switch is a slice (no re-indexing), and each exported ratio is a dense model with real speed-up;
/// learned masks would need the per-ratio index sets stored and gathered, for a gain the slimmable literature measures
/// as small at equal training. Not measured here against learned masks.
/// </remarks>
public sealed class MultiRatioNetwork : IDisposable
{
    private readonly SortedDictionary<double, RatioPath> _paths = new(Comparer<double>.Create((a, b) => b.CompareTo(a)));
    private readonly ChannelPlan _plan;
    private readonly HashSet<string> _normNames;
    private bool _disposed;

    private sealed record RatioPath(Classifier Model, ChannelSelection Selection);

    private MultiRatioNetwork(Classifier full, ChannelPlan plan, IEnumerable<double> ratios)
    {
        Full = full;
        _plan = plan;
        _normNames = plan.Tensors.Where(t => t.IsNorm).Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        foreach (double ratio in ratios.Where(r => r < 1))
        {
            var selection = ChannelSelection.Leading(plan, ratio);
            var spec = selection.SlicedSpec();
            var model = Classifier.Create(spec.ToModelSpec(full.Spec.Classes, full.Spec.InputChannels, full.Spec.ImageSize), full.Normalization,
                full.ClassNames, full.Device, seed: 0);
            // Start each ratio's batch norm from the full network's (then it trains on its own).
            using (var scope = torch.NewDisposeScope())
            using (torch.no_grad())
                CopyIn(full, model, selection, shared: true, norms: true);
            _paths[ratio] = new RatioPath(model, selection);
        }
        Ratios = [1.0, .. _paths.Keys];
    }

    /// <summary>
    /// A multi-ratio network starting from a copy of <paramref name="model"/> (an <c>arch-spec</c> model or a zoo model
    /// with a spec: ResNet-18, VGG, WideResNet), serving <paramref name="ratios"/> (each in (0, 1]; 1 is always served).
    /// </summary>
    public static MultiRatioNetwork From(Classifier model, IEnumerable<double> ratios)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(ratios);
        var list = ratios.Distinct().ToList();
        if (list.Count == 0 || list.Any(r => !(r > 0 && r <= 1)))
            throw new ArgumentOutOfRangeException(nameof(ratios), string.Join(", ", list), "Ratios must be in (0, 1], at least one.");
        var plan = ChannelSelection.PlanOf(model);
        // The full path is a spec network too, so that every ratio, the full one included, exports as the same family.
        var full = new ChannelMask(ChannelSelection.All(plan)).Materialise(model);
        try { return new MultiRatioNetwork(full, plan, list); }
        catch
        {
            full.Dispose();
            throw;
        }
    }

    /// <summary>The ratios served, largest (1) first.</summary>
    public IReadOnlyList<double> Ratios { get; }

    /// <summary>The full-width network: the shared weights and ratio 1's batch norm.</summary>
    public Classifier Full { get; }

    /// <summary>The device of every path.</summary>
    public Device Device => Full.Device;

    /// <summary>
    /// The network of <paramref name="ratio"/> with the shared weights copied in (the full network itself for 1). Owned by
    /// this object; use it for a forward pass or evaluation, and <see cref="Export"/> to keep a model.
    /// </summary>
    public Classifier Path(double ratio)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (ratio == 1) return Full;
        if (!_paths.TryGetValue(ratio, out var path))
            throw new ArgumentOutOfRangeException(nameof(ratio), ratio, $"This network serves the ratios {string.Join(", ", Ratios)}.");
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        CopyIn(Full, path.Model, path.Selection, shared: true, norms: false);
        return path.Model;
    }

    /// <summary>A standalone copy of <paramref name="ratio"/>'s network: a normal model that <c>Classifier.Load</c> reads once saved.</summary>
    public Classifier Export(double ratio) => Path(ratio).Clone();

    /// <summary>What the optimiser trains: the shared weights and every ratio's batch-norm parameters.</summary>
    public IEnumerable<Parameter> TrainableParameters()
    {
        foreach (var p in Full.Network.parameters()) yield return p;
        foreach (var path in _paths.Values)
            foreach (var (name, p) in path.Model.Network.named_parameters())
                if (IsNorm(name)) yield return p;
    }

    /// <summary>
    /// Adds the gradients a backward pass left on the ratio networks' shared tensors into the full network's, then
    /// clears them (they are copies; the optimiser steps the full network). Call after <c>backward()</c>, before the step.
    /// </summary>
    public void GatherGradients()
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var full = Full.Network.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var roles = _plan.Tensors.ToDictionary(t => t.Name);
        foreach (var path in _paths.Values)
        {
            foreach (var (name, p) in path.Model.Network.named_parameters())
            {
                if (roles.TryGetValue(name, out var role) && role.IsNorm) continue;
                var grad = p.grad;
                if (grad is null) continue;
                var target = full[name];
                if (target.grad is null) target.grad = torch.zeros_like(target).DetachFromDisposeScope();
                Slice(target.grad!, role, path.Selection).add_(grad);
                p.grad = null;
            }
        }
    }

    /// <summary>The metadata key listing a multi-ratio file's ratios.</summary>
    public const string RatiosMetadataKey = Classifier.MetadataPrefix + "multi_ratio.ratios";

    /// <summary>
    /// Saves the network as one model file: the full width as a normal model (any tool loads it as the ratio-1 model), plus
    /// every other ratio's batch norm as auxiliary tensors (<c>aux/ratio=0.5/bn1.weight</c>, ...) and the ratios in the
    /// metadata: one weight set and the small per-ratio parameters, as the method promises. Atomic.
    /// </summary>
    public void Save(string path)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var auxiliary = new Dictionary<string, Tensor>();
        foreach (var (ratio, ratioPath) in _paths)
            foreach (var (name, tensor) in ratioPath.Model.Network.state_dict())
                if (IsNorm(name)) auxiliary[$"{Classifier.AuxiliaryPrefix}ratio={Format(ratio)}/{name}"] = tensor;
        Full.Save(path, auxiliary, new Dictionary<string, string> { [RatiosMetadataKey] = string.Join(",", Ratios.Select(Format)) });
    }

    /// <summary>Reads a file <see cref="Save"/> wrote (on <paramref name="device"/>, CPU by default).</summary>
    public static MultiRatioNetwork Load(string path, Device? device = null)
    {
        var metadata = Models.SafeTensors.ReadMetadata(path);
        if (!metadata.TryGetValue(RatiosMetadataKey, out var listed))
            throw new InvalidDataException($"'{path}' is not a multi-ratio model (no '{RatiosMetadataKey}' metadata); it loads as a normal model with Classifier.Load.");
        double[] ratios;
        try { ratios = [.. listed.Split(',').Select(r => double.Parse(r, System.Globalization.CultureInfo.InvariantCulture))]; }
        catch (FormatException e) { throw new InvalidDataException($"'{path}': '{RatiosMetadataKey}' is not a list of numbers: {listed}", e); }
        using var full = Classifier.Load(path, device);
        var network = From(full, ratios);
        try
        {
            var (tensors, _) = Models.SafeTensors.Load(path);
            try
            {
                using var _ = torch.no_grad();
                foreach (var (ratio, ratioPath) in network._paths)
                    foreach (var (name, destination) in ratioPath.Model.Network.state_dict())
                    {
                        if (!network.IsNorm(name)) continue;
                        string key = $"{Classifier.AuxiliaryPrefix}ratio={Format(ratio)}/{name}";
                        if (!tensors.TryGetValue(key, out var source))
                            throw new InvalidDataException($"'{path}' lacks the batch norm '{key}' of ratio {Format(ratio)}.");
                        if (!source.shape.SequenceEqual(destination.shape))
                            throw new InvalidDataException($"'{path}': '{key}' has shape [{string.Join(", ", source.shape)}], ratio {Format(ratio)} expects [{string.Join(", ", destination.shape)}].");
                        destination.copy_(source.to(destination.dtype, destination.device));
                    }
            }
            finally
            {
                foreach (var t in tensors.Values) t.Dispose();
            }
            network.SetTraining(false);
            return network;
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    private static string Format(double ratio) => ratio.ToString("R", System.Globalization.CultureInfo.InvariantCulture);

    // A batch-norm tensor (parameter, statistic or counter) by its state-dict name: the per-ratio ones.
    private bool IsNorm(string name) => _normNames.Contains(name) || name.EndsWith("num_batches_tracked", StringComparison.Ordinal);

    /// <summary>Bytes of the shared weights (the full network's parameters and buffers).</summary>
    public long SharedBytes => Bytes(Full.Network.state_dict().Values);

    /// <summary>Bytes the ratios below 1 add: their batch-norm parameters and statistics.</summary>
    public long PerRatioBytes
    {
        get
        {
            return _paths.Values.Sum(p => Bytes(p.Model.Network.state_dict().Where(e => IsNorm(e.Key)).Select(e => e.Value)));
        }
    }

    /// <summary>Puts every path in training or evaluation mode.</summary>
    public void SetTraining(bool training)
    {
        foreach (var model in _paths.Values.Select(p => p.Model).Prepend(Full))
            if (training) model.Train(); else model.Eval();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var path in _paths.Values) path.Model.Dispose();
        Full.Dispose();
    }

    private static long Bytes(IEnumerable<Tensor> tensors) => tensors.Sum(t => t.numel() * t.element_size());

    // Copies the full network's tensors into a path: the shared ones (convolutions, linear layers) and, when asked,
    // batch norm (a path's own after it is made). The first channels of every group are the kept ones (nested).
    private void CopyIn(Classifier full, Classifier path, ChannelSelection selection, bool shared, bool norms)
    {
        var from = full.Network.state_dict();
        var roles = _plan.Tensors.ToDictionary(t => t.Name);
        foreach (var (name, destination) in path.Network.state_dict())
        {
            bool isNorm = roles.TryGetValue(name, out var role) ? role.IsNorm : name.EndsWith("num_batches_tracked", StringComparison.Ordinal);
            if (isNorm ? !norms : !shared) continue;
            destination.copy_(Slice(from[name], role, selection));
        }
    }

    // The view of a full-width tensor that a path's tensor is: the first kept channels along each grouped dimension.
    private static Tensor Slice(Tensor full, ChannelTensor? role, ChannelSelection selection)
    {
        if (role is null) return full;
        var view = full;
        if (role.Output is not null) view = view.narrow(0, 0, selection.KeptCount(role.Output));
        if (role.Input is not null) view = view.narrow(1, 0, (long)selection.KeptCount(role.Input) * role.InputRepeat);
        return view;
    }
}
