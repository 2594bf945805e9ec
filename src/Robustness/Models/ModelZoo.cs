using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Robustness.Models;

/// <summary>
/// The library's own architectures (<see cref="ModelFamilyRegistry.BuiltIn"/>), read-only. Parameter names follow
/// the common PyTorch definitions so that weights move between PyTorch and Robustness through safetensors in both
/// directions. Families of modules are not here: they live in the registry of the host that installed the module.
/// </summary>
public static class ModelZoo
{
    /// <summary>The built-in architecture names.</summary>
    public static IReadOnlyList<string> Architectures => ModelFamilyRegistry.BuiltIn.Names;

    /// <summary>The built-in family <paramref name="architecture"/>, or an exception listing the known names.</summary>
    public static ModelFamily Get(string architecture) => ModelFamilyRegistry.BuiltIn.Get(architecture);

    /// <summary>Builds a freshly initialised built-in network for <paramref name="spec"/> on the CPU.</summary>
    public static Module<Tensor, Tensor> Create(ModelSpec spec) => ModelFamilyRegistry.BuiltIn.Create(spec);
}
