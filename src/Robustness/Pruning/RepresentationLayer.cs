using Robustness.Models;
using TorchSharp.Modules;

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
    /// PwoA's representations for a zoo network: LeNet, each ReLU output (conv1, conv2, fc1); WideResNet, the stem
    /// conv, each residual block output and the pooled feature (as in the PwoA code); ResNet-18 and
    /// PreActResNet-18 likewise (stem, blocks, pooled); SmallCnn and VGG, the analogue of LeNet (each ReLU output)
    /// plus the pooled penultimate feature. Other architectures need explicit layers.
    /// </summary>
    public static IReadOnlyList<RepresentationLayer> Defaults(Classifier classifier)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        var modules = classifier.Network.named_modules().ToArray();
        var names = modules.Select(m => m.name).ToArray();
        string architecture = classifier.Spec.Architecture.ToLowerInvariant();
        var layers = new List<RepresentationLayer>();
        switch (architecture)
        {
            case LeNet.Name:
                layers.Add(new("conv1.relu", "conv1", RepresentationTransform.Relu));
                layers.Add(new("conv2.relu", "conv2", RepresentationTransform.Relu));
                layers.Add(new("fc1.relu", "fc1", RepresentationTransform.Relu));
                break;
            case ResNet18.Name:
            {
                layers.Add(new("stem", "bn1", RepresentationTransform.Relu));
                var blocks = Blocks(names, "layer", depth: 2);
                layers.AddRange(blocks.Select(b => new RepresentationLayer(b, b)));
                layers.Add(new("pooled", blocks[^1], RepresentationTransform.GlobalAveragePool));
                break;
            }
            case PreActResNet18.Name:
            {
                layers.Add(new("stem", "conv1"));
                layers.AddRange(Blocks(names, "layer", depth: 2).Select(b => new RepresentationLayer(b, b)));
                layers.Add(new("pooled", "bn", RepresentationTransform.ReluGlobalAveragePool));
                break;
            }
            case WideResNet.Name:
            {
                layers.Add(new("stem", "conv1"));
                layers.AddRange(Blocks(names, "block", depth: 3).Select(b => new RepresentationLayer(b, b)));
                layers.Add(new("pooled", "bn1", RepresentationTransform.ReluGlobalAveragePool));
                break;
            }
            case "small-cnn":
            case Vgg.Vgg11Name:
            case Vgg.Vgg16Name:
            {
                layers.AddRange(modules.Where(m => m.name.StartsWith("features.", StringComparison.Ordinal) && m.module is ReLU)
                    .Select(m => new RepresentationLayer(m.name, m.name)));
                // The penultimate feature: SmallCnn's flatten after global pooling, VGG's final (1x1) average pool.
                var last = names.Where(n => n.StartsWith("features.", StringComparison.Ordinal) && n.Count(c => c == '.') == 1).Last();
                layers.Add(new("pooled", last));
                break;
            }
            default:
                throw new NotSupportedException($"No default representation layers for architecture '{classifier.Spec.Architecture}'; pass the layers explicitly.");
        }
        return layers;
    }

    // Residual blocks are the modules named <prefix>N.i (ResNet: layer2.1) or <prefix>N.layer.i (WRN: block2.layer.3).
    private static string[] Blocks(IEnumerable<string> names, string prefix, int depth) =>
        names.Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && n.Split('.').Length == depth
                && char.IsDigit(n[prefix.Length]) && char.IsDigit(n[^1]))
            .ToArray();
}
