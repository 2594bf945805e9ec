using Robustness.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using F = TorchSharp.torch.nn.functional;

namespace Robustness.Models;

/// <summary>
/// The network an <see cref="ArchSpec"/> describes, named as the PyTorch layout it follows (<see cref="ArchSpec.Layout"/>):
/// a spec of plain stages is CIFAR VGG's <c>features</c>/<c>classifier</c>; residual stages are the CIFAR ResNet's
/// <c>conv1</c>, <c>bn1</c>, <c>layerN.i.conv1</c>, <c>layerN.i.shortcut.0</c>, <c>linear</c>; pre-activation stages are
/// WideResNet's <c>conv1</c>, <c>blockN.layer.i.bn1</c>, <c>convShortcut</c>, <c>bn1</c>, <c>fc</c>. Parameters are
/// registered in those networks' order, so a spec of ResNet-18, VGG or WideResNet initialised from the same seed gets
/// the same weights as the zoo's hand-written class, and either loads the other's file. Blocks run through
/// <c>call</c> so forward hooks fire.
/// </summary>
public sealed class SpecNetwork : Module<Tensor, Tensor>, IClassifierNetwork, IReproducibleInitialisation
{
    /// <summary>The family name of networks built from a spec.</summary>
    public const string FamilyName = "arch-spec";

    private readonly Module<Tensor, Tensor>? _stem;        // residual layouts: conv1 (+ bn1)
    private readonly BatchNorm2d? _stemNorm;
    private readonly Module<Tensor, Tensor>? _stemActivation;
    private readonly Sequential? _features;                // sequential layout
    private readonly Module<Tensor, Tensor>[] _stages = [];
    private readonly BatchNorm2d? _finalNorm;              // pre-activation layout
    private readonly Module<Tensor, Tensor>? _finalActivation;
    private readonly Linear _head;
    private readonly int _outputSize;

    /// <summary>Builds <paramref name="spec"/> for <paramref name="classes"/> classes and square images of <paramref name="imageSize"/> pixels.</summary>
    public SpecNetwork(ArchSpec spec, int classes = 10, int inputChannels = 3, int imageSize = 32) : base(nameof(SpecNetwork))
    {
        ArgumentNullException.ThrowIfNull(spec);
        Spec = spec.Validate();
        SpecRules.CheckShape(classes, spec.LastWidth, inputChannels);
        _outputSize = spec.OutputSize(imageSize);
        if (_outputSize < 1)
            throw new ArgumentOutOfRangeException(nameof(imageSize), imageSize, $"Images of {imageSize}x{imageSize} shrink to nothing in this spec's strides and pools.");
        FeatureSize = spec.HeadOrDefault.Pooling == HeadPooling.Flatten ? spec.LastWidth * _outputSize * _outputSize : spec.LastWidth;

        switch (spec.Layout)
        {
            case ArchLayout.Sequential:
                _features = Sequential(SequentialLayers(spec, inputChannels));
                register_module("features", _features);
                _head = Linear(FeatureSize, classes);
                register_module("classifier", _head);
                break;

            case ArchLayout.Residual:
                var stem = spec.Stem!;
                _stem = Conv2d(inputChannels, stem.Width, stem.KernelSize, stride: stem.Stride, padding: stem.KernelSize / 2, bias: false);
                register_module("conv1", _stem);
                if (stem.Normalised)
                {
                    _stemNorm = BatchNorm2d(stem.Width);
                    register_module("bn1", _stemNorm);
                    _stemActivation = Activations.Module(stem.Activation);
                    register_module("act", _stemActivation); // no parameters: the state dict is the ResNet's
                }
                _stages = Stages(spec, stem.Width, (stage, input, stride, _) => ResidualBlock(stage, input, stride));
                for (int i = 0; i < _stages.Length; i++) register_module($"layer{i + 1}", _stages[i]);
                _head = Linear(FeatureSize, classes);
                register_module("linear", _head);
                break;

            default: // pre-activation
                var bare = spec.Stem!;
                _stem = Conv2d(inputChannels, bare.Width, bare.KernelSize, stride: bare.Stride, padding: bare.KernelSize / 2, bias: false);
                register_module("conv1", _stem);
                _stages = Stages(spec, bare.Width, (stage, input, stride, _) => new PreActBlock(stage, input, stride))
                    .Select(blocks => (Module<Tensor, Tensor>)new PreActStage(blocks)).ToArray();
                for (int i = 0; i < _stages.Length; i++) register_module($"block{i + 1}", _stages[i]);
                _finalNorm = BatchNorm2d(spec.LastWidth);
                register_module("bn1", _finalNorm);
                _finalActivation = Activations.Module(spec.Stages[^1].Activation);
                register_module("act", _finalActivation);
                _head = Linear(FeatureSize, classes);
                register_module("fc", _head);
                HeInitialisation.Apply(this, generator: null);
                break;
        }
    }

    /// <summary>Builds the network an <c>arch-spec</c> <see cref="ModelSpec"/> describes (its spec in the <c>spec</c> parameter).</summary>
    public static SpecNetwork Create(ModelSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        SpecRules.RequireNoDepth(spec);
        SpecRules.RequireNoWidenFactor(spec);
        if (spec.Width != 0)
            throw new ArgumentOutOfRangeException(nameof(ModelSpec.Width), spec.Width, $"{FamilyName} takes its widths from the spec's stages; Width must be 0.");
        var unknown = spec.Parameters.Keys.Where(k => k != ArchSpec.ParameterName).ToArray();
        if (unknown.Length > 0)
            throw new ArgumentOutOfRangeException(nameof(ModelSpec.Parameters), string.Join(", ", unknown),
                $"{FamilyName} reads only the '{ArchSpec.ParameterName}' parameter.");
        return new SpecNetwork(ArchSpec.From(spec), spec.Classes, spec.InputChannels, spec.ImageSize);
    }

    /// <summary>The spec this network was built from.</summary>
    public ArchSpec Spec { get; }

    /// <inheritdoc />
    public int FeatureSize { get; }

    /// <summary>The stage modules (<c>layerN</c> or <c>blockN</c>) in order; empty for the sequential layout.</summary>
    public IReadOnlyList<Module<Tensor, Tensor>> StageModules => _stages;

    /// <summary>Redraws the initial weights from <paramref name="generator"/>: PyTorch's defaults, and for pre-activation
    /// networks WideResNet's He initialisation on top, as the zoo's classes do.</summary>
    public void ResetParameters(Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        DefaultInitialisation.Reset(this, generator);
        if (Spec.Layout == ArchLayout.PreActivation) HeInitialisation.Apply(this, generator);
    }

    /// <inheritdoc />
    public Tensor Features(Tensor normalisedInput)
    {
        if (_features is not null)
        {
            using var maps = _features.call(normalisedInput);
            return Pool(maps);
        }
        // No dispose scope here or in the blocks: a forward hook's tensors (RepresentationCapture's) would belong to it.
        var x = _stem!.call(normalisedInput);
        if (_stemNorm is not null) x = Then(Then(x, _stemNorm.call), _stemActivation!.call);
        foreach (var stage in _stages) x = Then(x, stage.call);
        if (_finalNorm is not null) x = Then(Then(x, _finalNorm.call), _finalActivation!.call);
        using (x) return Pool(x);
    }

    /// <inheritdoc />
    public Tensor Head(Tensor features) => _head.call(features);

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var features = Features(input);
        return Head(features);
    }

    // next(x), disposing x.
    private static Tensor Then(Tensor x, Func<Tensor, Tensor> next)
    {
        using (x) return next(x);
    }

    private Tensor Pool(Tensor maps)
    {
        if (Spec.HeadOrDefault.Pooling == HeadPooling.Flatten) return maps.flatten(1);
        using var pooled = F.adaptive_avg_pool2d(maps, 1);
        return pooled.flatten(1);
    }

    // VGG's flat list: [stem conv, bn, act], then conv, bn, act per plain block and a max-pool after a stage that asks.
    private static List<Module<Tensor, Tensor>> SequentialLayers(ArchSpec spec, int inputChannels)
    {
        var layers = new List<Module<Tensor, Tensor>>();
        int channels = inputChannels;
        if (spec.Stem is { } stem)
        {
            layers.Add(Conv2d(channels, stem.Width, stem.KernelSize, stride: stem.Stride, padding: stem.KernelSize / 2, bias: false));
            if (stem.Normalised)
            {
                layers.Add(BatchNorm2d(stem.Width));
                layers.Add(Activations.Module(stem.Activation));
            }
            channels = stem.Width;
        }
        foreach (var stage in spec.Stages)
        {
            for (int b = 0; b < stage.Depth; b++)
            {
                layers.Add(Conv2d(channels, stage.Width, stage.KernelSize, stride: b == 0 ? stage.Stride : 1, padding: stage.KernelSize / 2, bias: stage.Bias));
                layers.Add(BatchNorm2d(stage.Width));
                layers.Add(Activations.Module(stage.Activation));
                channels = stage.Width;
            }
            if (stage.PoolAfter) layers.Add(MaxPool2d(2, 2));
        }
        return layers;
    }

    // One Sequential of blocks per stage, the first taking the stride and the width change.
    private static Module<Tensor, Tensor>[] Stages(ArchSpec spec, int stemWidth, Func<StageSpec, int, int, int, Module<Tensor, Tensor>> block)
    {
        var stages = new List<Module<Tensor, Tensor>>();
        int channels = stemWidth;
        foreach (var stage in spec.Stages)
        {
            var blocks = new List<Module<Tensor, Tensor>>();
            for (int b = 0; b < stage.Depth; b++)
            {
                blocks.Add(block(stage, channels, b == 0 ? stage.Stride : 1, b));
                channels = stage.Width;
            }
            var sequence = Sequential(blocks);
            stages.Add(stage.PoolAfter ? new PooledStage(sequence) : sequence);
        }
        return [.. stages];
    }

    private static Module<Tensor, Tensor> ResidualBlock(StageSpec stage, int input, int stride) => stage.Block switch
    {
        BlockKind.Plain => new PlainBlock(stage, input, stride),
        BlockKind.Basic => new BasicBlock(stage, input, stride),
        BlockKind.Bottleneck => new BottleneckBlock(stage, input, stride),
        BlockKind.InvertedResidual => new InvertedResidualBlock(stage, input, stride),
        _ => throw new ArgumentOutOfRangeException(nameof(stage), stage.Block, "Not a block of a residual layout."),
    };

    // norm(conv(x)), disposing the convolution's output (the norm's output is the caller's).
    private static Tensor Bn(BatchNorm2d norm, Conv2d conv, Tensor x)
    {
        using var convolved = conv.call(x);
        return norm.call(convolved);
    }

    private static Conv2d Conv(int input, int output, int kernel, int stride = 1, long groups = 1) =>
        Conv2d(input, output, kernel, stride: stride, padding: kernel / 2, groups: groups, bias: false);

    // A 1x1 projection with batch norm where the block changes shape; null (the identity) otherwise.
    private static Sequential? Projection(int input, int output, int stride) =>
        stride != 1 || input != output ? Sequential(Conv(input, output, 1, stride), BatchNorm2d(output)) : null;

    /// <summary>A stage followed by a 2x2 max-pool; its blocks stay at <c>layerN.i</c> (the pool has no parameters).</summary>
    private sealed class PooledStage : Module<Tensor, Tensor>
    {
        // A delegate, not a Sequential field: TorchSharp registers module-typed fields by their field name, which put
        // every block a second time under layerN._blocks.i.
        private readonly Func<Tensor, Tensor> _blocks;

        public PooledStage(Sequential blocks) : base(nameof(PooledStage))
        {
            _blocks = blocks.call;
            foreach (var (name, child) in blocks.named_children()) register_module(name, child);
        }

        public override Tensor forward(Tensor x)
        {
            using var y = _blocks(x);
            return F.max_pool2d(y, 2, 2);
        }
    }

    /// <summary>WideResNet's <c>blockN</c>: the blocks live in <c>layer</c>.</summary>
    private sealed class PreActStage : Module<Tensor, Tensor>
    {
        private readonly Module<Tensor, Tensor> layer;

        public PreActStage(Module<Tensor, Tensor> blocks) : base(nameof(PreActStage))
        {
            layer = blocks;
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => layer.call(x);
    }

    private sealed class PlainBlock : Module<Tensor, Tensor>
    {
        private readonly Conv2d conv1;
        private readonly BatchNorm2d bn1;
        private readonly ActivationKind _activation;

        public PlainBlock(StageSpec stage, int input, int stride) : base(nameof(PlainBlock))
        {
            conv1 = Conv2d(input, stage.Width, stage.KernelSize, stride: stride, padding: stage.KernelSize / 2, bias: stage.Bias);
            bn1 = BatchNorm2d(stage.Width);
            _activation = stage.Activation;
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var y = Bn(bn1, conv1, x);
            return Activations.Apply(_activation, y);
        }
    }

    private sealed class BasicBlock : Module<Tensor, Tensor>
    {
        private readonly Conv2d conv1;
        private readonly BatchNorm2d bn1;
        private readonly Conv2d conv2;
        private readonly BatchNorm2d bn2;
        private readonly Sequential? shortcut;
        private readonly ActivationKind _activation;

        public BasicBlock(StageSpec stage, int input, int stride) : base(nameof(BasicBlock))
        {
            int mid = stage.MidWidthFor(input);
            conv1 = Conv(input, mid, stage.KernelSize, stride);
            bn1 = BatchNorm2d(mid);
            conv2 = Conv(mid, stage.Width, stage.KernelSize);
            bn2 = BatchNorm2d(stage.Width);
            shortcut = Projection(input, stage.Width, stride);
            _activation = stage.Activation;
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var a = Activations.Consume(_activation, Bn(bn1, conv1, x));
            using var b = Bn(bn2, conv2, a);
            using var skip = shortcut is null ? x.alias() : shortcut.call(x);
            using var sum = b.add(skip);
            return Activations.Apply(_activation, sum);
        }
    }

    private sealed class BottleneckBlock : Module<Tensor, Tensor>
    {
        private readonly Conv2d conv1;
        private readonly BatchNorm2d bn1;
        private readonly Conv2d conv2;
        private readonly BatchNorm2d bn2;
        private readonly Conv2d conv3;
        private readonly BatchNorm2d bn3;
        private readonly Sequential? shortcut;
        private readonly ActivationKind _activation;

        public BottleneckBlock(StageSpec stage, int input, int stride) : base(nameof(BottleneckBlock))
        {
            int mid = stage.MidWidthFor(input);
            conv1 = Conv(input, mid, 1);
            bn1 = BatchNorm2d(mid);
            conv2 = Conv(mid, mid, stage.KernelSize, stride);
            bn2 = BatchNorm2d(mid);
            conv3 = Conv(mid, stage.Width, 1);
            bn3 = BatchNorm2d(stage.Width);
            shortcut = Projection(input, stage.Width, stride);
            _activation = stage.Activation;
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var a = Activations.Consume(_activation, Bn(bn1, conv1, x));
            using var b = Activations.Consume(_activation, Bn(bn2, conv2, a));
            using var c = Bn(bn3, conv3, b);
            using var skip = shortcut is null ? x.alias() : shortcut.call(x);
            using var sum = c.add(skip);
            return Activations.Apply(_activation, sum);
        }
    }

    /// <summary>MobileNetV2's block: expand, depthwise, linear projection; the input is added when the shape is kept.</summary>
    private sealed class InvertedResidualBlock : Module<Tensor, Tensor>
    {
        private readonly Conv2d conv1;
        private readonly BatchNorm2d bn1;
        private readonly Conv2d conv2;
        private readonly BatchNorm2d bn2;
        private readonly Conv2d conv3;
        private readonly BatchNorm2d bn3;
        private readonly bool _residual;
        private readonly ActivationKind _activation;

        public InvertedResidualBlock(StageSpec stage, int input, int stride) : base(nameof(InvertedResidualBlock))
        {
            int mid = stage.MidWidthFor(input);
            conv1 = Conv(input, mid, 1);
            bn1 = BatchNorm2d(mid);
            conv2 = Conv(mid, mid, stage.KernelSize, stride, groups: mid);
            bn2 = BatchNorm2d(mid);
            conv3 = Conv(mid, stage.Width, 1);
            bn3 = BatchNorm2d(stage.Width);
            _residual = stride == 1 && input == stage.Width;
            _activation = stage.Activation;
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var a = Activations.Consume(_activation, Bn(bn1, conv1, x));
            using var b = Activations.Consume(_activation, Bn(bn2, conv2, a));
            var c = Bn(bn3, conv3, b);
            if (!_residual) return c;
            using (c) return c.add(x);
        }
    }

    /// <summary>WideResNet's block: the activated input feeds the convolutions and, where the width changes, the 1x1 shortcut.</summary>
    private sealed class PreActBlock : Module<Tensor, Tensor>
    {
        private readonly BatchNorm2d bn1;
        private readonly Conv2d conv1;
        private readonly BatchNorm2d bn2;
        private readonly Conv2d conv2;
        private readonly Conv2d? convShortcut;
        private readonly ActivationKind _activation;

        public PreActBlock(StageSpec stage, int input, int stride) : base(nameof(PreActBlock))
        {
            int mid = stage.MidWidthFor(input);
            bn1 = BatchNorm2d(input);
            conv1 = Conv(input, mid, stage.KernelSize, stride);
            bn2 = BatchNorm2d(mid);
            conv2 = Conv(mid, stage.Width, stage.KernelSize);
            if (input != stage.Width || stride != 1) convShortcut = Conv(input, stage.Width, 1, stride);
            _activation = stage.Activation;
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var normed = bn1.call(x);
            using var activated = Activations.Apply(_activation, normed);
            using var skip = convShortcut is null ? x.alias() : convShortcut.call(activated);
            using var a = Activations.Consume(_activation, Bn(bn2, conv1, activated));
            using var b = conv2.call(a);
            return b.add(skip);
        }
    }
}

/// <summary>The activations a spec names, as functions and as parameter-free modules.</summary>
internal static class Activations
{
    public static Tensor Apply(ActivationKind kind, Tensor x) => kind switch
    {
        ActivationKind.Relu => F.relu(x),
        ActivationKind.Tanh => x.tanh(),
        ActivationKind.Elu => F.elu(x, alpha: 1.0),
        ActivationKind.Gelu => F.gelu(x),
        ActivationKind.Silu => F.silu(x),
        ActivationKind.Hardswish => F.hardswish(x),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown activation."),
    };

    // Apply, disposing the input handle.
    public static Tensor Consume(ActivationKind kind, Tensor x)
    {
        using (x) return Apply(kind, x);
    }

    public static bool IsActivation(Module module) =>
        module is TorchSharp.Modules.ReLU or TorchSharp.Modules.Tanh or TorchSharp.Modules.ELU or TorchSharp.Modules.GELU
            or TorchSharp.Modules.SiLU or TorchSharp.Modules.Hardswish;

    public static Module<Tensor, Tensor> Module(ActivationKind kind) => kind switch
    {
        ActivationKind.Relu => ReLU(),
        ActivationKind.Tanh => Tanh(),
        ActivationKind.Elu => ELU(),
        ActivationKind.Gelu => GELU(),
        ActivationKind.Silu => SiLU(),
        ActivationKind.Hardswish => Hardswish(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown activation."),
    };
}

/// <summary>
/// WideResNet's reference initialisation: convolutions N(0, sqrt(2 / (k*k*out))), batch norm weight 1 and bias 0, linear
/// bias 0. It matters for training from scratch, not for loading weights. A null generator draws from the process-wide one.
/// </summary>
internal static class HeInitialisation
{
    public static void Apply(Module network, Generator? generator)
    {
        using var _ = torch.no_grad();
        foreach (var module in network.modules())
        {
            switch (module)
            {
                case Conv2d conv:
                    long fanOut = conv.weight.shape[0] * conv.weight.shape[2] * conv.weight.shape[3];
                    // Tensor.normal_, not nn.init.normal_: in TorchSharp 0.107 the init functions ignore their generator.
                    conv.weight.normal_(0, Math.Sqrt(2.0 / fanOut), generator);
                    break;
                case BatchNorm2d norm:
                    norm.weight?.fill_(Scalars.One);
                    norm.bias?.zero_();
                    break;
                case Linear linear:
                    linear.bias?.zero_();
                    break;
            }
        }
    }
}
