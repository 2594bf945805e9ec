using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using F = TorchSharp.torch.nn.functional;

namespace Robustness.Models;

/// <summary>
/// The CIFAR ResNet-18 most robustness code uses (the "kuangliu" layout): a 3x3 stride-1 stem conv with BN and no
/// max-pool, four stages of two <c>BasicBlock</c>s with widths w, 2w, 4w, 8w (strides 1, 2, 2, 2), global average
/// pooling and a linear head. State-dict names are PyTorch's (<c>conv1.weight</c>, <c>bn1.running_mean</c>,
/// <c>layer2.0.shortcut.0.weight</c>, <c>linear.weight</c>, ...), so weights trained in PyTorch load directly.
/// The standard width 64 has 11,173,962 parameters for 10 classes.
/// </summary>
public sealed class ResNet18 : Module<Tensor, Tensor>, IClassifierNetwork, IReproducibleInitialisation
{
    /// <summary>Zoo name.</summary>
    public const string Name = "resnet18";

    /// <summary>Standard width (first-stage channels).</summary>
    public const int StandardWidth = 64;

    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Sequential layer1;
    private readonly Sequential layer2;
    private readonly Sequential layer3;
    private readonly Sequential layer4;
    private readonly Linear linear;

    /// <summary>Creates the network; <paramref name="width"/> is the first stage's channel count.</summary>
    public ResNet18(int classes = 10, int width = StandardWidth, int inputChannels = 3) : base(nameof(ResNet18))
    {
        SpecRules.CheckShape(classes, width, inputChannels);
        conv1 = Conv2d(inputChannels, width, 3, stride: 1, padding: 1, bias: false);
        bn1 = BatchNorm2d(width);
        layer1 = Stage(width, width, 1);
        layer2 = Stage(width, 2 * width, 2);
        layer3 = Stage(2 * width, 4 * width, 2);
        layer4 = Stage(4 * width, 8 * width, 2);
        linear = Linear(8 * width, classes);
        FeatureSize = 8 * width;
        RegisterComponents();
    }

    /// <summary>Builds the network a <see cref="ModelSpec"/> describes (Width 0 = 64; Depth 0 or 18; no widen factor).</summary>
    public static ResNet18 Create(ModelSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        SpecRules.RequireFixedDepth(spec, 18);
        SpecRules.RequireNoWidenFactor(spec);
        return new ResNet18(spec.Classes, SpecRules.Width(spec, StandardWidth), spec.InputChannels);
    }

    /// <inheritdoc />
    public int FeatureSize { get; }

    /// <summary>Redraws the initial weights (PyTorch's default initialisation) from <paramref name="generator"/>.</summary>
    public void ResetParameters(Generator generator) => DefaultInitialisation.Reset(this, generator);

    /// <inheritdoc />
    public Tensor Features(Tensor normalisedInput)
    {
        using var stem = F.relu(bn1.call(conv1.call(normalisedInput)));
        using var x1 = layer1.call(stem);
        using var x2 = layer2.call(x1);
        using var x3 = layer3.call(x2);
        using var x4 = layer4.call(x3);
        using var pooled = F.adaptive_avg_pool2d(x4, 1);
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
        Sequential(new BasicBlock(input, output, stride), new BasicBlock(output, output, 1));

    /// <summary>Two 3x3 convs with BN, added to the input (or its 1x1 projection when the shape changes).</summary>
    private sealed class BasicBlock : Module<Tensor, Tensor>
    {
        private readonly Conv2d conv1;
        private readonly BatchNorm2d bn1;
        private readonly Conv2d conv2;
        private readonly BatchNorm2d bn2;
        private readonly Sequential? shortcut; // null = identity (PyTorch's empty Sequential has no state either)

        public BasicBlock(int input, int output, int stride) : base(nameof(BasicBlock))
        {
            conv1 = Conv2d(input, output, 3, stride: stride, padding: 1, bias: false);
            bn1 = BatchNorm2d(output);
            conv2 = Conv2d(output, output, 3, stride: 1, padding: 1, bias: false);
            bn2 = BatchNorm2d(output);
            if (stride != 1 || input != output)
                shortcut = Sequential(Conv2d(input, output, 1, stride: stride, bias: false), BatchNorm2d(output));
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var a = F.relu(bn1.call(conv1.call(x)));
            using var b = bn2.call(conv2.call(a));
            using var skip = shortcut is null ? x.alias() : shortcut.call(x);
            using var sum = b + skip;
            return F.relu(sum);
        }
    }
}
