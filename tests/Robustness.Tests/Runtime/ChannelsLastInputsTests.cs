using FluentAssertions;
using Robustness.Attacks;
using Robustness.Models;
using Robustness.Runtime;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Robustness.Tests.Runtime;

/// <summary>
/// Classifier.ChannelsLastInputs: the attacks' way of running a model's convolutions channels-last without touching its
/// weights (the network gets NHWC strides, the values and the gradient stay those of the plain layout).
/// </summary>
public class ChannelsLastInputsTests
{
    public static TheoryData<bool> Normalisations => new() { true, false };

    [Theory]
    [MemberData(nameof(Normalisations))]
    public void The_network_gets_nhwc_strides_while_held_the_same_values_and_plain_strides_after(bool cifarNormalisation)
    {
        using var scope = NewDisposeScope();
        using var classifier = Classifier.Create(new ModelSpec("small-cnn", 10, 4), cifarNormalisation ? Normalization.Cifar10 : null, seed: 0);
        var images = torch.rand(2, 3, 8, 8, generator: new Generator(1));
        var plain = classifier.Normalize(images);

        var outer = classifier.ChannelsLastInputs();
        using (classifier.ChannelsLastInputs()) { }
        var held = classifier.Normalize(images);
        held.stride()[1].Should().Be(1, "channels are the innermost dimension while a hold is open (the inner one is closed, the outer not)");
        held.shape.Should().Equal(plain.shape);
        held.eq(plain).all().item<bool>().Should().BeTrue("only the strides change");
        outer.Dispose();
        outer.Dispose(); // a second Dispose of the same hold must not release another one

        classifier.Normalize(images).is_contiguous().Should().BeTrue("no hold is left");
        using (classifier.ChannelsLastInputs())
            classifier.Normalize(images).stride()[1].Should().Be(1, "a hold still counts after the double Dispose above");
    }

    [Fact]
    public void The_input_gradient_matches_the_plain_layout_and_comes_back_as_the_images_came()
    {
        using var scope = NewDisposeScope();
        using var classifier = Classifier.Create(new ModelSpec("small-cnn", 10, 8), Normalization.Cifar10, seed: 0);
        classifier.Eval();
        var generator = new Generator(2);
        var images = torch.rand(4, 3, 16, 16, generator: generator);
        var labels = torch.randint(0, 10, [4], generator: generator, dtype: ScalarType.Int64);
        var plain = AttackMath.InputGradient(classifier, images, logits => AttackMath.CrossEntropy(logits, labels));
        Tensor held;
        using (classifier.ChannelsLastInputs())
            held = AttackMath.InputGradient(classifier, images, logits => AttackMath.CrossEntropy(logits, labels));

        held.shape.Should().Equal(images.shape);
        held.isfinite().all().item<bool>().Should().BeTrue();
        // Float32 summation order differs between the layouts: close, not equal.
        (held - plain).abs().max().item<float>().Should().BeLessThan(1e-4f * Math.Max(1f, plain.abs().max().item<float>()));
    }

    [Fact]
    public void An_attack_leaves_no_hold_behind_and_its_result_is_plain_nchw()
    {
        using var scope = NewDisposeScope();
        using var classifier = Classifier.Create(new ModelSpec("small-cnn", 10, 4), Normalization.Cifar10, seed: 0);
        var generator = new Generator(3);
        var images = torch.rand(3, 3, 8, 8, generator: generator);
        var labels = torch.randint(0, 10, [3], generator: generator, dtype: ScalarType.Int64);

        var adversarial = new Pgd(new PgdOptions { Epsilon = 8.0 / 255, Steps = 2, StepSize = 2.0 / 255, Seed = 0 }).Run(classifier, images, labels);

        adversarial.is_contiguous().Should().BeTrue("callers get the layout they passed");
        classifier.Normalize(images).is_contiguous().Should().BeTrue("the attack released its hold");
    }
}
