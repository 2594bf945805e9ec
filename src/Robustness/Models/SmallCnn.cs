using Robustness.Validation;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Robustness.Models;

/// <summary>
/// A small VGG-style CNN for 2-core CPUs and tests: three stages of two 3x3 conv + BN + ReLU blocks
/// (widths w, 2w, 4w) with 2x2 max-pooling, global average pooling and a linear head. w = 32 gives about
/// 0.29M parameters and trains at roughly 200 img/s on two cores.
/// </summary>
public sealed class SmallCnn : Module<Tensor, Tensor>, IClassifierNetwork, IReproducibleInitialisation
{
    private readonly Sequential features;
    private readonly Linear linear;

    /// <summary>Creates the network; <paramref name="width"/> is the first stage's channel count.</summary>
    public SmallCnn(int classes = 10, int width = 32, int inputChannels = 3) : base(nameof(SmallCnn))
    {
        Require.AtLeast(width, 1, nameof(width));
        int w1 = width, w2 = 2 * width, w3 = 4 * width;
        features = Sequential(
            ("conv1", Conv2d(inputChannels, w1, 3, padding: 1, bias: false)), ("bn1", BatchNorm2d(w1)), ("relu1", ReLU()),
            ("conv2", Conv2d(w1, w1, 3, padding: 1, bias: false)), ("bn2", BatchNorm2d(w1)), ("relu2", ReLU()),
            ("pool1", MaxPool2d(2)),
            ("conv3", Conv2d(w1, w2, 3, padding: 1, bias: false)), ("bn3", BatchNorm2d(w2)), ("relu3", ReLU()),
            ("conv4", Conv2d(w2, w2, 3, padding: 1, bias: false)), ("bn4", BatchNorm2d(w2)), ("relu4", ReLU()),
            ("pool2", MaxPool2d(2)),
            ("conv5", Conv2d(w2, w3, 3, padding: 1, bias: false)), ("bn5", BatchNorm2d(w3)), ("relu5", ReLU()),
            ("conv6", Conv2d(w3, w3, 3, padding: 1, bias: false)), ("bn6", BatchNorm2d(w3)), ("relu6", ReLU()),
            ("pool", AdaptiveAvgPool2d(1)),
            ("flatten", Flatten()));
        linear = Linear(w3, classes);
        FeatureSize = w3;
        RegisterComponents();
    }

    /// <inheritdoc />
    public int FeatureSize { get; }

    /// <summary>Redraws the initial weights (PyTorch's default initialisation) from <paramref name="generator"/>.</summary>
    public void ResetParameters(Generator generator) => DefaultInitialisation.Reset(this, generator);

    /// <inheritdoc />
    public Tensor Features(Tensor normalisedInput) => features.call(normalisedInput);

    /// <inheritdoc />
    public Tensor Head(Tensor features) => linear.call(features);

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => linear.call(features.call(input));
}
