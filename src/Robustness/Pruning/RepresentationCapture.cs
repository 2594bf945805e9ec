using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Pruning;

/// <summary>
/// Captures hidden representations of a <see cref="Classifier"/>'s network during its forward pass, through forward
/// hooks on the named modules (zoo networks run submodules through <c>call</c>, so the hooks fire). The captured
/// tensors keep their autograd graph, so a loss built on them trains the network; they are created in the dispose
/// scope of the forward pass (run the forward inside a scope). Removes its hooks when disposed.
/// </summary>
public sealed class RepresentationCapture : IDisposable
{
    private readonly List<Action> _removers = [];
    private readonly List<Tensor>[] _captured;
    private bool _disposed;

    /// <summary>Hooks <paramref name="layers"/> (default: <see cref="RepresentationLayer.Defaults"/>) of <paramref name="classifier"/>'s network.</summary>
    public RepresentationCapture(Classifier classifier, IReadOnlyList<RepresentationLayer>? layers = null)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        layers ??= RepresentationLayer.Defaults(classifier);
        if (layers.Count == 0) throw new ArgumentException("At least one layer is needed.", nameof(layers));
        Layers = layers.ToArray();
        _captured = Layers.Select(_ => new List<Tensor>()).ToArray();

        var modules = new Dictionary<string, nn.Module>(StringComparer.Ordinal);
        foreach (var (name, module) in classifier.Network.named_modules()) modules[name] = module;
        try
        {
            for (int i = 0; i < Layers.Count; i++)
            {
                var layer = Layers[i];
                if (!modules.TryGetValue(layer.Module, out var module))
                    throw new ArgumentException($"The {classifier.Spec.Architecture} network has no module '{layer.Module}' (layer '{layer.Name}'). Modules: {string.Join(", ", modules.Keys.Take(40))}{(modules.Count > 40 ? ", ..." : "")}.", nameof(layers));
                if (module is not nn.Module<Tensor, Tensor> hookable)
                    throw new ArgumentException($"Module '{layer.Module}' ({module.GetType().Name}) does not map a tensor to a tensor.", nameof(layers));
                int index = i;
                var remover = hookable.register_forward_hook((_, _, output) =>
                {
                    _captured[index].Add(Transform(output, layer.Transform));
                    return null!; // keep the module's output unchanged
                });
                _removers.Add(remover.remove);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The captured layers, in the order <see cref="Take"/> returns them.</summary>
    public IReadOnlyList<RepresentationLayer> Layers { get; }

    /// <summary>
    /// The representations of the last forward pass, one per layer in <see cref="Layers"/> order, and forgets them
    /// (the caller owns them; they live in the forward pass's dispose scope). Throws when a layer did not run exactly
    /// once since the last call.
    /// </summary>
    public IReadOnlyList<Tensor> Take()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var taken = new Tensor[Layers.Count];
        for (int i = 0; i < Layers.Count; i++)
        {
            if (_captured[i].Count != 1)
            {
                int count = _captured[i].Count;
                Clear();
                throw new InvalidOperationException($"Layer '{Layers[i].Name}' ({Layers[i].Module}) produced {count} outputs since the last Take; run exactly one forward pass between calls.");
            }
            taken[i] = _captured[i][0];
        }
        foreach (var list in _captured) list.Clear();
        return taken;
    }

    /// <summary>Disposes and forgets what was captured and not taken (e.g. after a forward pass whose representations are not needed).</summary>
    public void Clear()
    {
        foreach (var list in _captured)
        {
            foreach (var t in list) t.Dispose();
            list.Clear();
        }
    }

    /// <summary>Removes the hooks and disposes what was not taken.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var remove in _removers) remove();
        _removers.Clear();
        Clear();
    }

    private static Tensor Transform(Tensor output, RepresentationTransform transform) => transform switch
    {
        // A new handle: the network disposes its own handle to the output as soon as the next layer has run.
        RepresentationTransform.None => output.alias(),
        RepresentationTransform.Relu => nn.functional.relu(output),
        RepresentationTransform.GlobalAveragePool => output.mean([2L, 3L]),
        RepresentationTransform.ReluGlobalAveragePool => nn.functional.relu(output).mean([2L, 3L]),
        RepresentationTransform.ClassToken => output.select(1, 0),
        _ => throw new ArgumentOutOfRangeException(nameof(transform), transform, "Unknown transform."),
    };
}
