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
        Register(new ArchitectureInfo(ResNet18.Name,
            "CIFAR ResNet-18 (3x3 stem, no max-pool, stages w-2w-4w-8w; width 64: 11,173,962 parameters).",
            ResNet18.StandardWidth, ResNet18.Create));
        Register(new ArchitectureInfo(PreActResNet18.Name,
            "PreActResNet-18 as in fast adversarial training, with its final BN (width 64: 11,172,170 parameters).",
            PreActResNet18.StandardWidth, PreActResNet18.Create));
        Register(new ArchitectureInfo(Vgg.Vgg11Name, "VGG11 with batch norm for CIFAR (width 64: 9,231,114 parameters).",
            Vgg.StandardWidth, s => Vgg.Create(s, 11)));
        Register(new ArchitectureInfo(Vgg.Vgg16Name, "VGG16 with batch norm for CIFAR (width 64: 14,728,266 parameters).",
            Vgg.StandardWidth, s => Vgg.Create(s, 16)));
        Register(new ArchitectureInfo(WideResNet.Name,
            "WideResNet as in TRADES/RobustBench; Depth 6n+4 (default 28), WidenFactor (default 10); WRN-28-10: 36,479,194 parameters.",
            WideResNet.StandardWidth, WideResNet.Create));
        Register(new ArchitectureInfo(LeNet.Name,
            "LeNet as in PwoA (conv5x5 32, conv5x5 64, fc 1024; 1x28x28 at width 32: 3,274,634 parameters).",
            LeNet.StandardWidth, LeNet.Create));
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
