using Robustness.Models;

namespace Robustness.Pruning;

/// <summary>What is taken from a module's output to form a representation.</summary>
public enum RepresentationTransform
{
    /// <summary>The module's output as it is.</summary>
    None,

    /// <summary>ReLU of the output (for networks that apply <c>F.relu</c> after the module rather than a ReLU module).</summary>
    Relu,

    /// <summary>The output averaged over its spatial dimensions, [N, C] (a pooled feature the network computes functionally).</summary>
    GlobalAveragePool,

    /// <summary>ReLU, then the spatial average (a final BN + ReLU + pool done functionally).</summary>
    ReluGlobalAveragePool,

    /// <summary>The class token of a token sequence [N, tokens, D]: [N, D] (a Vision Transformer's pooled feature).</summary>
    ClassToken,
}

/// <summary>
/// One hidden representation to capture: a display name, the module (by its <c>named_modules()</c> name) whose
/// output it is taken from, and what the network does to that output before using it, where the network does it
/// functionally (so the captured value is the one the network computes).
/// </summary>
/// <param name="Name">Name in reports (e.g. <c>stem</c>, <c>layer2.1</c>, <c>pooled</c>).</param>
/// <param name="Module">The module's name in <c>named_modules()</c> (e.g. <c>features.relu3</c>, <c>block1.layer.0</c>).</param>
/// <param name="Transform">What is applied to the module's output.</param>
public sealed record RepresentationLayer(string Name, string Module, RepresentationTransform Transform = RepresentationTransform.None)
{
    /// <summary>
    /// PwoA's representations for <paramref name="classifier"/>'s network, as its family defines them
    /// (<see cref="ModelFamily.RepresentationLayers"/>); a network without a family, or a family without defaults,
    /// needs explicit layers.
    /// </summary>
    public static IReadOnlyList<RepresentationLayer> Defaults(Classifier classifier)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        var family = classifier.Family ?? throw new NotSupportedException(
            $"No default representation layers for architecture '{classifier.Spec.Architecture}' (no registered family); pass the layers explicitly.");
        return family.RepresentationLayers(classifier.Network, classifier.Spec);
    }
}
