using Robustness.Pruning;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Robustness.Models;

/// <summary>
/// The library's own families, each with what PwoA reads by default: LeNet, each ReLU output (conv1, conv2, fc1);
/// WideResNet, the stem conv, each residual block output and the pooled feature (as in the PwoA code); ResNet-18 and
/// PreActResNet-18 likewise (stem, blocks, pooled); SmallCnn and VGG, the analogue of LeNet (each ReLU output) plus
/// the pooled penultimate feature.
/// </summary>
internal static class BuiltInModelFamilies
{
    public static IReadOnlyList<ModelFamily> All { get; } =
    [
        new SmallCnnFamily(), new ResNet18Family(), new PreActResNet18Family(), new VggFamily(11), new VggFamily(16),
        new WideResNetFamily(), new LeNetFamily(), new VitFamily(), new ArchSpecFamily(),
    ];

    // Residual blocks are the modules named <prefix>N.i (ResNet: layer2.1) or <prefix>N.layer.i (WRN: block2.layer.3).
    private static string[] Blocks(Module network, string prefix, int depth) =>
        network.named_modules().Select(m => m.name)
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && n.Split('.').Length == depth
                && char.IsDigit(n[prefix.Length]) && char.IsDigit(n[^1]))
            .ToArray();

    // Residual networks: a stem, every residual block's output, and the pooled feature.
    private static IReadOnlyList<RepresentationLayer> StemBlocksPooled(RepresentationLayer stem, IEnumerable<string> blocks, RepresentationLayer pooled) =>
        [stem, .. blocks.Select(b => new RepresentationLayer(b, b)), pooled];

    // SmallCnn and VGG: each activation of the feature extractor, then the penultimate feature (SmallCnn's flatten after
    // global pooling, VGG's final 1x1 average pool).
    private static IReadOnlyList<RepresentationLayer> ReluOutputsAndPooled(Module network)
    {
        var modules = network.named_modules().ToArray();
        var layers = modules.Where(m => m.name.StartsWith("features.", StringComparison.Ordinal) && Activations.IsActivation(m.module))
            .Select(m => new RepresentationLayer(m.name, m.name)).ToList();
        var last = modules.Select(m => m.name).Where(n => n.StartsWith("features.", StringComparison.Ordinal) && n.Count(c => c == '.') == 1).Last();
        layers.Add(new("pooled", last));
        return layers;
    }

    private sealed class SmallCnnFamily : ModelFamily
    {
        public override string Name => "small-cnn";
        public override string Description => "Small VGG-style CNN for CPUs and tests (width 32: ~0.29M parameters).";
        public override int StandardWidth => 32;
        public override Module<Tensor, Tensor> Build(ModelSpec spec) => new SmallCnn(spec.Classes, spec.Width == 0 ? 32 : spec.Width, spec.InputChannels);
        public override IReadOnlyList<RepresentationLayer> RepresentationLayers(Module<Tensor, Tensor> network, ModelSpec spec) => ReluOutputsAndPooled(network);
    }

    private sealed class ResNet18Family : ModelFamily
    {
        public override string Name => ResNet18.Name;
        public override string Description => "CIFAR ResNet-18 (3x3 stem, no max-pool, stages w-2w-4w-8w; width 64: 11,173,962 parameters).";
        public override int StandardWidth => ResNet18.StandardWidth;
        public override Module<Tensor, Tensor> Build(ModelSpec spec) => ResNet18.Create(spec);

        public override IReadOnlyList<RepresentationLayer> RepresentationLayers(Module<Tensor, Tensor> network, ModelSpec spec)
        {
            var blocks = Blocks(network, "layer", depth: 2);
            return StemBlocksPooled(new("stem", "bn1", RepresentationTransform.Relu), blocks, new("pooled", blocks[^1], RepresentationTransform.GlobalAveragePool));
        }
    }

    private sealed class PreActResNet18Family : ModelFamily
    {
        public override string Name => PreActResNet18.Name;
        public override string Description => "PreActResNet-18 as in fast adversarial training, with its final BN (width 64: 11,172,170 parameters).";
        public override int StandardWidth => PreActResNet18.StandardWidth;
        public override Module<Tensor, Tensor> Build(ModelSpec spec) => PreActResNet18.Create(spec);

        public override IReadOnlyList<RepresentationLayer> RepresentationLayers(Module<Tensor, Tensor> network, ModelSpec spec) =>
            StemBlocksPooled(new("stem", "conv1"), Blocks(network, "layer", depth: 2), new("pooled", "bn", RepresentationTransform.ReluGlobalAveragePool));
    }

    private sealed class VggFamily(int depth) : ModelFamily
    {
        public override string Name => depth == 11 ? Vgg.Vgg11Name : Vgg.Vgg16Name;
        public override string Description => depth == 11
            ? "VGG11 with batch norm for CIFAR (width 64: 9,231,114 parameters)."
            : "VGG16 with batch norm for CIFAR (width 64: 14,728,266 parameters).";
        public override int StandardWidth => Vgg.StandardWidth;
        public override Module<Tensor, Tensor> Build(ModelSpec spec) => Vgg.Create(spec, depth);
        public override IReadOnlyList<RepresentationLayer> RepresentationLayers(Module<Tensor, Tensor> network, ModelSpec spec) => ReluOutputsAndPooled(network);
    }

    private sealed class WideResNetFamily : ModelFamily
    {
        public override string Name => WideResNet.Name;
        public override string Description => "WideResNet as in TRADES/RobustBench; Depth 6n+4 (default 28), WidenFactor (default 10); WRN-28-10: 36,479,194 parameters.";
        public override int StandardWidth => WideResNet.StandardWidth;
        public override Module<Tensor, Tensor> Build(ModelSpec spec) => WideResNet.Create(spec);

        public override IReadOnlyList<RepresentationLayer> RepresentationLayers(Module<Tensor, Tensor> network, ModelSpec spec) =>
            StemBlocksPooled(new("stem", "conv1"), Blocks(network, "block", depth: 3), new("pooled", "bn1", RepresentationTransform.ReluGlobalAveragePool));
    }

    private sealed class LeNetFamily : ModelFamily
    {
        public override string Name => LeNet.Name;
        public override string Description => "LeNet as in PwoA (conv5x5 32, conv5x5 64, fc 1024; 1x28x28 at width 32: 3,274,634 parameters).";
        public override int StandardWidth => LeNet.StandardWidth;
        public override Module<Tensor, Tensor> Build(ModelSpec spec) => LeNet.Create(spec);
        public override ModelSpec StandardSpec(int classes = 10) => new(Name, classes, InputChannels: 1, ImageSize: 28);

        public override IReadOnlyList<RepresentationLayer> RepresentationLayers(Module<Tensor, Tensor> network, ModelSpec spec) =>
            [new("conv1.relu", "conv1", RepresentationTransform.Relu), new("conv2.relu", "conv2", RepresentationTransform.Relu),
                new("fc1.relu", "fc1", RepresentationTransform.Relu)];
    }

    private sealed class VitFamily : ModelFamily
    {
        public override string Name => VisionTransformer.Name;
        public override string Description =>
            "Vision Transformer for small images, timm's layout and names (Width 192, Depth 6, heads 3, patch 4, MLP ratio 4 by default: 2,693,578 parameters on 32x32, 10 classes).";
        public override int StandardWidth => VisionTransformer.StandardWidth;
        public override Module<Tensor, Tensor> Build(ModelSpec spec) => VisionTransformer.Create(spec);

        // PwoA's representations of a ViT: each block's class token, then the normed class token the head reads.
        public override IReadOnlyList<RepresentationLayer> RepresentationLayers(Module<Tensor, Tensor> network, ModelSpec spec) =>
            [.. Enumerable.Range(0, ((VisionTransformer)network).Depth).Select(b => new RepresentationLayer($"blocks.{b}", $"blocks.{b}", RepresentationTransform.ClassToken)),
                new("pooled", "norm", RepresentationTransform.ClassToken)];

        // The convolutions and linear layers, plus the two attention products of every block (q k^T and the weighted
        // sum of v: n^2 d each), with the token counts of the counting pass (so a token selector lowers them).
        public override long Macs(Module<Tensor, Tensor> network, ModelSpec spec)
        {
            long layers = MacCounter.Count(network, spec);
            var vit = (VisionTransformer)network;
            return layers + vit.LastTokenCounts.Sum(n => 2L * n * n * vit.Width);
        }
    }

    private sealed class ArchSpecFamily : ModelFamily
    {
        public override string Name => SpecNetwork.FamilyName;
        public override string Description =>
            "A CNN given as an architecture spec (stem; stages of plain, basic, bottleneck, inverted-residual or pre-activation blocks; head), in the spec parameter as JSON.";
        public override ModelSpec StandardSpec(int classes = 10) => ArchSpecs.ResNet18().ToModelSpec(classes);
        public override Module<Tensor, Tensor> Build(ModelSpec spec) => SpecNetwork.Create(spec);

        // As the zoo's own families: VGG-like specs, each activation and the pooled map; residual specs, the stem, every
        // block's output and the pooled feature.
        public override IReadOnlyList<RepresentationLayer> RepresentationLayers(Module<Tensor, Tensor> network, ModelSpec spec)
        {
            var arch = ((SpecNetwork)network).Spec;
            var pooling = arch.HeadOrDefault.Pooling == HeadPooling.GlobalAverage ? RepresentationTransform.GlobalAveragePool : RepresentationTransform.None;
            switch (arch.Layout)
            {
                case ArchLayout.Sequential:
                    return ReluOutputsAndPooled(network);
                case ArchLayout.Residual:
                    var blocks = Blocks(network, "layer", depth: 2);
                    return StemBlocksPooled(new("stem", arch.Stem!.Normalised ? "act" : "conv1"), blocks, new("pooled", blocks[^1], pooling));
                default:
                    return StemBlocksPooled(new("stem", "conv1"), Blocks(network, "block", depth: 3), new("pooled", "act", pooling));
            }
        }
    }
}
