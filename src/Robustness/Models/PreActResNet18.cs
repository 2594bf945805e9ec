using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using F = TorchSharp.torch.nn.functional;

namespace Robustness.Models;

/// <summary>
/// PreActResNet-18 as in the fast adversarial training code (Wong et al. 2020) and robust overfitting (Rice et
/// al. 2020): a 3x3 stem conv, four stages of two pre-activation blocks (BN, ReLU, conv; the shortcut taps the
/// activated input) with widths w, 2w, 4w, 8w, a final BN + ReLU, global average pooling and a linear head.
/// State-dict names are PyTorch's (<c>conv1.weight</c>, <c>layer1.0.bn1.weight</c>, <c>layer2.0.shortcut.0.weight</c>,
/// <c>bn.running_var</c>, <c>linear.bias</c>). The standard width 64 has 11,172,170 parameters for 10 classes:
/// the often quoted 11,171,146 is the original CIFAR PreActResNet-18 without the final BN (1,024 parameters),
/// which the fast-adversarial-training code added and whose weights therefore need it.
/// </summary>
public sealed class PreActResNet18 : Module<Tensor, Tensor>, IClassifierNetwork, IReproducibleInitialisation
{
    /// <summary>Zoo name.</summary>
    public const string Name = "preact-resnet18";

    /// <summary>Standard width (first-stage channels).</summary>
    public const int StandardWidth = 64;

    private readonly Conv2d conv1;
    private readonly Sequential layer1;
    private readonly Sequential layer2;
    private readonly Sequential layer3;
    private readonly Sequential layer4;
    private readonly BatchNorm2d bn;
    private readonly Linear linear;

    /// <summary>Creates the network; <paramref name="width"/> is the first stage's channel count.</summary>
    public PreActResNet18(int classes = 10, int width = StandardWidth, int inputChannels = 3) : base(nameof(PreActResNet18))
    {
        SpecRules.CheckShape(classes, width, inputChannels);
        conv1 = Conv2d(inputChannels, width, 3, stride: 1, padding: 1, bias: false);
        layer1 = Stage(width, width, 1);
        layer2 = Stage(width, 2 * width, 2);
        layer3 = Stage(2 * width, 4 * width, 2);
        layer4 = Stage(4 * width, 8 * width, 2);
        bn = BatchNorm2d(8 * width);
        linear = Linear(8 * width, classes);
        FeatureSize = 8 * width;
        RegisterComponents();
    }

    /// <summary>Builds the network a <see cref="ModelSpec"/> describes (Width 0 = 64; Depth 0 or 18; no widen factor).</summary>
    public static PreActResNet18 Create(ModelSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        SpecRules.RequireFixedDepth(spec, 18);
        SpecRules.RequireNoWidenFactor(spec);
        return new PreActResNet18(spec.Classes, SpecRules.Width(spec, StandardWidth), spec.InputChannels);
    }

    /// <inheritdoc />
    public int FeatureSize { get; }

    /// <summary>Redraws the initial weights (PyTorch's default initialisation) from <paramref name="generator"/>.</summary>
    public void ResetParameters(Generator generator) => DefaultInitialisation.Reset(this, generator);

    /// <inheritdoc />
    public Tensor Features(Tensor normalisedInput)
    {
        using var stem = conv1.call(normalisedInput);
        using var x1 = layer1.call(stem);
        using var x2 = layer2.call(x1);
        using var x3 = layer3.call(x2);
        using var x4 = layer4.call(x3);
        using var activated = F.relu(bn.call(x4));
        using var pooled = F.adaptive_avg_pool2d(activated, 1);
        return pooled.flatten(1);
    }

    /// <inheritdoc />
    public Tensor Head(Tensor features) => linear.call(features);

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var features = Features(input);
        return Head(features);
    }

    private static Sequential Stage(int input, int output, int stride) =>
        Sequential(new PreActBlock(input, output, stride), new PreActBlock(output, output, 1));

    /// <summary>BN-ReLU-conv twice; the projection shortcut (when the shape changes) sees the activated input.</summary>
    private sealed class PreActBlock : Module<Tensor, Tensor>
    {
        private readonly BatchNorm2d bn1;
        private readonly Conv2d conv1;
        private readonly BatchNorm2d bn2;
        private readonly Conv2d conv2;
        private readonly Sequential? shortcut; // null = identity on the raw input, as in the reference code

        public PreActBlock(int input, int output, int stride) : base(nameof(PreActBlock))
        {
            bn1 = BatchNorm2d(input);
            conv1 = Conv2d(input, output, 3, stride: stride, padding: 1, bias: false);
            bn2 = BatchNorm2d(output);
            conv2 = Conv2d(output, output, 3, stride: 1, padding: 1, bias: false);
            if (stride != 1 || input != output)
                shortcut = Sequential(Conv2d(input, output, 1, stride: stride, bias: false));
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var activated = F.relu(bn1.call(x));
            using var skip = shortcut is null ? x.alias() : shortcut.call(activated);
            using var a = conv1.call(activated);
            using var b = conv2.call(F.relu(bn2.call(a)));
            return b + skip;
        }
    }
}
