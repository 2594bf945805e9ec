using Robustness.Validation;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Robustness.Models;

/// <summary>
/// VGG with batch norm for CIFAR, in the common CIFAR layout: <c>features</c> is one Sequential of
/// conv3x3 (with bias), BN, ReLU triples and 2x2 max-pools ('M'), closed by an AvgPool2d(1); <c>classifier</c> is a
/// single Linear(8w, classes). State-dict indices therefore match PyTorch's (<c>features.0.weight</c> is the first
/// conv, <c>features.1.running_mean</c> its BN, <c>features.3</c> the first pool in VGG11, ...). The width w scales
/// the 64-128-256-512 configuration (w, 2w, 4w, 8w). At the standard width 64 with 10 classes VGG11-BN has
/// 9,231,114 parameters and VGG16-BN 14,728,266. Needs images of at least 32x32 (five 2x2 pools).
/// </summary>
public sealed class Vgg : Module<Tensor, Tensor>, IClassifierNetwork, IReproducibleInitialisation
{
    /// <summary>Zoo name of VGG11-BN.</summary>
    public const string Vgg11Name = "vgg11";

    /// <summary>Zoo name of VGG16-BN.</summary>
    public const string Vgg16Name = "vgg16";

    /// <summary>Standard width (first-stage channels).</summary>
    public const int StandardWidth = 64;

    // Channel multipliers of the base width; 0 marks a 2x2 max-pool.
    private static readonly int[] Vgg11Config = [1, 0, 2, 0, 4, 4, 0, 8, 8, 0, 8, 8, 0];
    private static readonly int[] Vgg16Config = [1, 1, 0, 2, 2, 0, 4, 4, 4, 0, 8, 8, 8, 0, 8, 8, 8, 0];

    private readonly Sequential features;
    private readonly Linear classifier;

    /// <summary>Creates VGG11-BN (<paramref name="depth"/> 11) or VGG16-BN (16).</summary>
    public Vgg(int depth, int classes = 10, int width = StandardWidth, int inputChannels = 3, int imageSize = 32) : base(nameof(Vgg))
    {
        int[] config = depth switch
        {
            11 => Vgg11Config,
            16 => Vgg16Config,
            _ => throw new ArgumentOutOfRangeException(nameof(depth), depth, "VGG depth must be 11 or 16."),
        };
        Require.AtLeast(classes, 2, nameof(classes));
        Require.AtLeast(width, 1, nameof(width));
        Require.AtLeast(inputChannels, 1, nameof(inputChannels));
        if (imageSize < 32) throw new ArgumentOutOfRangeException(nameof(imageSize), imageSize, "VGG needs images of at least 32x32 (it halves them five times).");

        var layers = new List<Module<Tensor, Tensor>>();
        int channels = inputChannels, size = imageSize;
        foreach (int multiplier in config)
        {
            if (multiplier == 0)
            {
                layers.Add(MaxPool2d(2, 2));
                size /= 2;
                continue;
            }
            int output = multiplier * width;
            layers.Add(Conv2d(channels, output, 3, padding: 1));
            layers.Add(BatchNorm2d(output));
            layers.Add(ReLU());
            channels = output;
        }
        layers.Add(AvgPool2d(1, 1)); // kept for index parity with the PyTorch definition
        features = Sequential(layers);
        FeatureSize = channels * size * size; // 8w at 32x32, as in the CIFAR code
        classifier = Linear(FeatureSize, classes);
        Depth = depth;
        RegisterComponents();
    }

    /// <summary>Builds VGG11-BN or VGG16-BN from a spec whose architecture is <c>vgg11</c> or <c>vgg16</c> (Width 0 = 64).</summary>
    public static Vgg Create(ModelSpec spec, int depth)
    {
        ArgumentNullException.ThrowIfNull(spec);
        SpecRules.RequireFixedDepth(spec, depth);
        SpecRules.RequireNoWidenFactor(spec);
        return new Vgg(depth, spec.Classes, SpecRules.Width(spec, StandardWidth), spec.InputChannels, spec.ImageSize);
    }

    /// <summary>11 or 16.</summary>
    public int Depth { get; }

    /// <inheritdoc />
    public int FeatureSize { get; }

    /// <summary>Redraws the initial weights (PyTorch's default initialisation) from <paramref name="generator"/>.</summary>
    public void ResetParameters(Generator generator) => DefaultInitialisation.Reset(this, generator);

    /// <inheritdoc />
    public Tensor Features(Tensor normalisedInput)
    {
        using var maps = features.call(normalisedInput);
        return maps.flatten(1);
    }

    /// <inheritdoc />
    public Tensor Head(Tensor features) => classifier.call(features);

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var flat = Features(input);
        return Head(flat);
    }
}
