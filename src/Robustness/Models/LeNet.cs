using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using F = TorchSharp.torch.nn.functional;

namespace Robustness.Models;

/// <summary>
/// LeNet as in the PwoA code: conv5x5 (padding 2) to w channels (<c>conv1</c>), ReLU, 2x2 max-pool, conv5x5
/// (padding 2) to 2w (<c>conv2</c>), ReLU, 2x2 max-pool, <c>fc1</c> to 32w units with ReLU (the penultimate
/// features), <c>fc2</c> to the classes. The padding keeps each conv's size, so the flattened size is
/// 2w * (S/4)^2 for S x S inputs: 28x28 gives 7x7x64 = 3136 at the standard width 32, 32x32 gives 8x8x64 = 4096.
/// Standard width, 10 classes: 3,274,634 parameters for 1x28x28 (MNIST), 4,259,274 for 3x32x32.
/// </summary>
public sealed class LeNet : Module<Tensor, Tensor>, IClassifierNetwork, IReproducibleInitialisation
{
    /// <summary>Zoo name.</summary>
    public const string Name = "lenet";

    /// <summary>Standard width (conv1 channels; conv2 has 2w, fc1 32w).</summary>
    public const int StandardWidth = 32;

    private readonly Conv2d conv1;
    private readonly Conv2d conv2;
    private readonly Linear fc1;
    private readonly Linear fc2;

    /// <summary>Creates the network for <paramref name="imageSize"/> x <paramref name="imageSize"/> inputs (at least 4).</summary>
    public LeNet(int classes = 10, int width = StandardWidth, int inputChannels = 1, int imageSize = 28) : base(nameof(LeNet))
    {
        SpecRules.CheckShape(classes, width, inputChannels);
        if (imageSize < 4) throw new ArgumentOutOfRangeException(nameof(imageSize), imageSize, "LeNet needs images of at least 4x4 (two 2x2 pools).");
        int pooled = imageSize / 2 / 2;
        conv1 = Conv2d(inputChannels, width, 5, padding: 2);
        conv2 = Conv2d(width, 2 * width, 5, padding: 2);
        fc1 = Linear(2 * width * pooled * pooled, 32 * width);
        fc2 = Linear(32 * width, classes);
        FeatureSize = 32 * width;
        ImageSize = imageSize;
        RegisterComponents();
    }

    /// <summary>Builds the network a <see cref="ModelSpec"/> describes (Width 0 = 32; no depth or widen factor).</summary>
    public static LeNet Create(ModelSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        SpecRules.RequireNoDepth(spec);
        SpecRules.RequireNoWidenFactor(spec);
        return new LeNet(spec.Classes, SpecRules.Width(spec, StandardWidth), spec.InputChannels, spec.ImageSize);
    }

    /// <summary>The input height and width this network was built for (fc1 depends on it).</summary>
    public int ImageSize { get; }

    /// <inheritdoc />
    public int FeatureSize { get; }

    /// <summary>Redraws the initial weights (PyTorch's default initialisation) from <paramref name="generator"/>.</summary>
    public void ResetParameters(Generator generator) => DefaultInitialisation.Reset(this, generator);

    /// <inheritdoc />
    public Tensor Features(Tensor normalisedInput)
    {
        using var a = F.max_pool2d(F.relu(conv1.call(normalisedInput)), 2);
        using var b = F.max_pool2d(F.relu(conv2.call(a)), 2);
        using var flat = b.flatten(1);
        return F.relu(fc1.call(flat));
    }

    /// <inheritdoc />
    public Tensor Head(Tensor features) => fc2.call(features);

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var features = Features(input);
        return Head(features);
    }
}
