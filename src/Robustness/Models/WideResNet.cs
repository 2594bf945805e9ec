using Robustness.Validation;
using Robustness.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using F = TorchSharp.torch.nn.functional;

namespace Robustness.Models;

/// <summary>
/// WideResNet-depth-k as in the TRADES and RobustBench code: a 3x3 stem conv to w channels (16 standard), three
/// <c>blockN.layer</c> stages of n = (depth - 4) / 6 pre-activation blocks with w*k, 2w*k, 4w*k channels (strides
/// 1, 2, 2; a 1x1 <c>convShortcut</c> where the width changes, fed by the activated input), a final BN
/// (<c>bn1</c>) + ReLU, global average pooling and <c>fc</c>. No dropout. Initialisation as in that code:
/// convs N(0, sqrt(2 / (k*k*out))), BN weight 1 and bias 0, linear bias 0. WRN-28-10 (the default) has
/// 36,479,194 parameters for 10 classes; WRN-34-10 has 46,160,474.
/// </summary>
public sealed class WideResNet : Module<Tensor, Tensor>, IClassifierNetwork, IReproducibleInitialisation
{
    /// <summary>Zoo name.</summary>
    public const string Name = "wide-resnet";

    /// <summary>Standard stem width (the 16 of nChannels = [16, 16k, 32k, 64k]).</summary>
    public const int StandardWidth = 16;

    /// <summary>Default depth when <see cref="ModelSpec.Depth"/> is 0.</summary>
    public const int DefaultDepth = 28;

    /// <summary>Default widen factor when <see cref="ModelSpec.WidenFactor"/> is 0.</summary>
    public const int DefaultWidenFactor = 10;

    private readonly Conv2d conv1;
    private readonly Stage block1;
    private readonly Stage block2;
    private readonly Stage block3;
    private readonly BatchNorm2d bn1;
    private readonly Linear fc;

    /// <summary>Creates WRN-<paramref name="depth"/>-<paramref name="widenFactor"/>; depth must be 6n+4 with n >= 1.</summary>
    public WideResNet(int depth = DefaultDepth, int widenFactor = DefaultWidenFactor, int classes = 10, int width = StandardWidth, int inputChannels = 3)
        : base(nameof(WideResNet))
    {
        if (depth < 10 || (depth - 4) % 6 != 0)
            throw new ArgumentOutOfRangeException(nameof(depth), depth, "WideResNet depth must be 6n+4 with n >= 1 (10, 16, 22, 28, 34, 40, ...).");
        Require.AtLeast(widenFactor, 1, nameof(widenFactor));
        Require.AtLeast(classes, 2, nameof(classes));
        Require.AtLeast(width, 1, nameof(width));
        Require.AtLeast(inputChannels, 1, nameof(inputChannels));
        int n = (depth - 4) / 6;
        int c1 = width * widenFactor, c2 = 2 * width * widenFactor, c3 = 4 * width * widenFactor;
        conv1 = Conv2d(inputChannels, width, 3, stride: 1, padding: 1, bias: false);
        block1 = new Stage(n, width, c1, 1);
        block2 = new Stage(n, c1, c2, 2);
        block3 = new Stage(n, c2, c3, 2);
        bn1 = BatchNorm2d(c3);
        fc = Linear(c3, classes);
        Depth = depth;
        WidenFactor = widenFactor;
        FeatureSize = c3;
        RegisterComponents();
        Initialise(generator: null);
    }

    /// <summary>Builds the network a <see cref="ModelSpec"/> describes (Depth 0 = 28, WidenFactor 0 = 10, Width 0 = 16).</summary>
    public static WideResNet Create(ModelSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        int depth = spec.Depth == 0 ? DefaultDepth : spec.Depth;
        if (depth < 10 || (depth - 4) % 6 != 0)
            throw new ArgumentOutOfRangeException(nameof(ModelSpec.Depth), spec.Depth,
                "WideResNet Depth must be 6n+4 with n >= 1 (10, 16, 22, 28, 34, 40, ...), or 0 for 28.");
        return new WideResNet(depth, spec.WidenFactor == 0 ? DefaultWidenFactor : spec.WidenFactor, spec.Classes,
            SpecRules.Width(spec, StandardWidth), spec.InputChannels);
    }

    /// <summary>Total depth (6n+4).</summary>
    public int Depth { get; }

    /// <summary>Widen factor k.</summary>
    public int WidenFactor { get; }

    /// <inheritdoc />
    public int FeatureSize { get; }

    /// <inheritdoc />
    public Tensor Features(Tensor normalisedInput)
    {
        using var stem = conv1.call(normalisedInput);
        using var x1 = block1.call(stem);
        using var x2 = block2.call(x1);
        using var x3 = block3.call(x2);
        using var activated = F.relu(bn1.call(x3));
        using var pooled = F.adaptive_avg_pool2d(activated, 1);
        return pooled.flatten(1);
    }

    /// <inheritdoc />
    public Tensor Head(Tensor features) => fc.call(features);

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var features = Features(input);
        return Head(features);
    }

    /// <summary>Redraws the initial weights (the reference initialisation) from <paramref name="generator"/>.</summary>
    public void ResetParameters(Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        DefaultInitialisation.Reset(this, generator); // BN statistics and the linear weight as PyTorch's defaults
        Initialise(generator);
    }

    // The reference code's initialisation; a null generator draws from the process-wide one.
    private void Initialise(Generator? generator) => HeInitialisation.Apply(this, generator);

    /// <summary>One <c>blockN</c>: its blocks live in <c>layer</c>, as in the reference NetworkBlock.</summary>
    private sealed class Stage : Module<Tensor, Tensor>
    {
        private readonly Sequential layer;

        public Stage(int blocks, int input, int output, int stride) : base(nameof(Stage))
        {
            layer = Sequential(Enumerable.Range(0, blocks)
                .Select(i => (Module<Tensor, Tensor>)new Block(i == 0 ? input : output, output, i == 0 ? stride : 1)));
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => layer.call(x);
    }

    /// <summary>
    /// Pre-activation block. When the width changes, the activated input feeds both the conv path and the 1x1
    /// shortcut; otherwise the raw input is the identity shortcut.
    /// </summary>
    private sealed class Block : Module<Tensor, Tensor>
    {
        private readonly BatchNorm2d bn1;
        private readonly Conv2d conv1;
        private readonly BatchNorm2d bn2;
        private readonly Conv2d conv2;
        private readonly Conv2d? convShortcut;

        public Block(int input, int output, int stride) : base(nameof(Block))
        {
            bn1 = BatchNorm2d(input);
            conv1 = Conv2d(input, output, 3, stride: stride, padding: 1, bias: false);
            bn2 = BatchNorm2d(output);
            conv2 = Conv2d(output, output, 3, stride: 1, padding: 1, bias: false);
            if (input != output)
                convShortcut = Conv2d(input, output, 1, stride: stride, bias: false);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var activated = F.relu(bn1.call(x));
            using var skip = convShortcut is null ? x.alias() : convShortcut.call(activated);
            using var a = F.relu(bn2.call(conv1.call(activated)));
            using var b = conv2.call(a);
            return skip + b;
        }
    }
}
