using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Robustness.Models;

/// <summary>
/// The architectures Robustness can build by name. Parameter names follow the common PyTorch definitions so
/// that weights move between PyTorch and Robustness through safetensors in both directions.
/// </summary>
public static class ModelZoo
{
    private static readonly Dictionary<string, ArchitectureInfo> Registry = new(StringComparer.OrdinalIgnoreCase);

    static ModelZoo()
    {
        Register(new ArchitectureInfo("small-cnn", "Small VGG-style CNN for CPUs and tests (width 32: ~0.29M parameters).", 32,
            s => new SmallCnn(s.Classes, s.Width == 0 ? 32 : s.Width, s.InputChannels)));
    }

    /// <summary>The registered architecture names.</summary>
    public static IReadOnlyList<string> Architectures => Registry.Keys.Order(StringComparer.Ordinal).ToArray();

    /// <summary>Information about one architecture, or an exception listing the known names.</summary>
    public static ArchitectureInfo Get(string architecture)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        return Registry.TryGetValue(architecture, out var info)
            ? info
            : throw new ArgumentOutOfRangeException(nameof(architecture), architecture, $"Unknown architecture '{architecture}'. Known: {string.Join(", ", Architectures)}.");
    }

    /// <summary>Adds an architecture (modules use this to add their own networks).</summary>
    public static void Register(ArchitectureInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        lock (Registry) Registry[info.Name] = info;
    }

    /// <summary>Builds a freshly initialised network for <paramref name="spec"/> on the CPU.</summary>
    public static Module<Tensor, Tensor> Create(ModelSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        return Get(spec.Architecture).Factory(spec);
    }
}

/// <summary>One zoo entry: its name, a one-line description, its standard width and a factory.</summary>
public sealed record ArchitectureInfo(string Name, string Description, int StandardWidth, Func<ModelSpec, Module<Tensor, Tensor>> Factory);
