using FluentAssertions;
using TorchSharp;
using static TorchSharp.torch;
using Xunit;

namespace Robustness.Forensics.Tests;

/// <summary>The DnCNN denoiser: starts as the identity and learns to pull a perturbation out of an image.</summary>
public sealed class DenoiserTests
{
    [Fact]
    public void A_new_denoiser_is_the_identity_and_training_recovers_the_perturbation()
    {
        using var scope = torch.NewDisposeScope();
        var g = new torch.Generator(7);
        // Faint smooth images (grey plus upsampled 4x4 noise) carrying a high-frequency +-8/255 perturbation. (On busier images
        // SGD on the l1 loss needs far more than a test's steps: RED-adv trains its DnCNN for 20 epochs of CIFAR-10 records.)
        var smooth = torch.nn.functional.interpolate(torch.rand([300, 3, 4, 4], generator: g), [16, 16], mode: InterpolationMode.Bilinear, align_corners: false)
            .mul(0.01.ToScalar()).add(0.5.ToScalar());
        var delta = torch.randint(0, 2, [300, 3, 16, 16], generator: g).to(ScalarType.Float32).mul(2.ToScalar()).sub(1.ToScalar()).mul((8.0 / 255).ToScalar());
        var adversarial = smooth.add(delta);

        using (var fresh = new DnCnn(depth: 4, width: 16))
            fresh.Residual(adversarial).abs().max().item<float>().Should().Be(0, "the last layer starts at zero");

        using var denoiser = new DenoiserOptions { Depth = 4, Width = 16, Epochs = 20, BatchSize = 20, LearningRate = 0.1 }.Train(adversarial, delta);
        float error = denoiser.Residual(adversarial).sub(delta).abs().mean().item<float>();
        float trivial = delta.abs().mean().item<float>();
        error.Should().BeLessThan(0.8f * trivial, "x' - D(x') estimates the perturbation better than no estimate (PyTorch reaches 0.66 on this data)");

        FluentActions.Invoking(() => new DenoiserOptions { Depth = 1 }.Validate()).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("Depth");
        FluentActions.Invoking(() => new DenoiserOptions().Train(adversarial, delta.narrow(0, 0, 10))).Should().Throw<ArgumentException>();
    }
}
