using FluentAssertions;
using Robustness.Models;
using TorchSharp;
using Xunit;

namespace Robustness.Tests.Models;

public class ModelZooTests
{
    [Fact]
    public void Every_architecture_is_registered_with_its_standard_width()
    {
        ModelZoo.Architectures.Should().Contain(["small-cnn", "resnet18", "preact-resnet18", "vgg11", "vgg16", "wide-resnet", "lenet"]);
        ModelZoo.Get("resnet18").StandardWidth.Should().Be(64);
        ModelZoo.Get("preact-resnet18").StandardWidth.Should().Be(64);
        ModelZoo.Get("vgg11").StandardWidth.Should().Be(64);
        ModelZoo.Get("vgg16").StandardWidth.Should().Be(64);
        ModelZoo.Get("wide-resnet").StandardWidth.Should().Be(16);
        ModelZoo.Get("lenet").StandardWidth.Should().Be(32);
        ModelZoo.Get("RESNET18").Name.Should().Be("resnet18", "names are case-insensitive");
    }

    // The well-known parameter counts of the standard networks (10 classes); building them on the CPU is cheap,
    // running them is not, so no forward here.
    [Theory]
    [InlineData("resnet18", 0, 0, 3, 32, 11_173_962)]
    [InlineData("preact-resnet18", 0, 0, 3, 32, 11_172_170)] // 11,171,146 + the final BN of Wong et al.'s code
    [InlineData("vgg11", 0, 0, 3, 32, 9_231_114)]
    [InlineData("vgg16", 0, 0, 3, 32, 14_728_266)]
    [InlineData("wide-resnet", 0, 0, 3, 32, 36_479_194)]
    [InlineData("wide-resnet", 34, 10, 3, 32, 46_160_474)]
    [InlineData("lenet", 0, 0, 1, 28, 3_274_634)]
    [InlineData("lenet", 0, 0, 3, 32, 4_259_274)]
    public void Standard_networks_have_the_published_parameter_counts(string architecture, int depth, int widen, int channels, int size, long expected)
    {
        using var network = ModelZoo.Create(new ModelSpec(architecture, Depth: depth, WidenFactor: widen, InputChannels: channels, ImageSize: size));
        network.parameters().Sum(p => p.numel()).Should().Be(expected);
    }

    [Theory]
    [MemberData(nameof(ModelTestSupport.Architectures), MemberType = typeof(ModelTestSupport))]
    public void Logits_equal_head_of_features_with_the_declared_feature_size(string architecture)
    {
        using var scope = torch.NewDisposeScope();
        var spec = ModelTestSupport.SmallSpecs[architecture];
        using var classifier = Classifier.Create(spec, seed: 1);
        classifier.Eval();
        var images = ModelTestSupport.Images(spec, 2);

        var logits = classifier.Forward(images);
        var features = classifier.Features(images);

        logits.shape.Should().Equal(2, spec.Classes);
        features.shape.Should().Equal(2, classifier.FeatureNetwork.FeatureSize);
        torch.allclose(classifier.FeatureNetwork.Head(features), logits, rtol: 0, atol: 1e-6).Should().BeTrue();
    }

    [Theory]
    [MemberData(nameof(ModelTestSupport.Architectures), MemberType = typeof(ModelTestSupport))]
    public void Gradients_reach_the_input_images(string architecture)
    {
        using var scope = torch.NewDisposeScope();
        var spec = ModelTestSupport.SmallSpecs[architecture];
        using var classifier = Classifier.Create(spec, Normalization.Identity(spec.InputChannels), seed: 1);
        classifier.Eval();
        var images = ModelTestSupport.Images(spec, 2).requires_grad_();

        classifier.Forward(images).sum().backward();

        images.grad.Should().NotBeNull();
        images.grad!.abs().sum().item<float>().Should().BeGreaterThan(0f);
    }

    [Fact]
    public void LeNet_flattened_size_follows_the_image_size()
    {
        using var mnist = new LeNet(classes: 10, width: 32, inputChannels: 1, imageSize: 28);
        mnist.state_dict()["fc1.weight"].shape.Should().Equal(1024, 7 * 7 * 64);
        using var cifar = new LeNet(classes: 10, width: 32, inputChannels: 3, imageSize: 32);
        cifar.state_dict()["fc1.weight"].shape.Should().Equal(1024, 8 * 8 * 64);
        cifar.state_dict()["conv1.weight"].shape.Should().Equal(32, 3, 5, 5);
    }

    [Theory]
    [InlineData(12)]
    [InlineData(29)]
    [InlineData(4)]
    public void WideResNet_rejects_a_depth_that_is_not_6n_plus_4(int depth)
    {
        var act = () => ModelZoo.Create(new ModelSpec("wide-resnet", Depth: depth, WidenFactor: 1));
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*6n+4*").Which.ParamName.Should().Be("Depth");
    }

    [Fact]
    public void WideResNet_defaults_are_depth_28_and_widen_factor_10()
    {
        using var network = (WideResNet)ModelZoo.Create(new ModelSpec("wide-resnet"));
        network.Depth.Should().Be(28);
        network.WidenFactor.Should().Be(10);
        network.FeatureSize.Should().Be(640);
    }

    [Theory]
    [InlineData("resnet18", 34, 0, "Depth")]
    [InlineData("vgg16", 11, 0, "Depth")]
    [InlineData("lenet", 5, 0, "Depth")]
    [InlineData("preact-resnet18", 0, 2, "WidenFactor")]
    public void Fields_an_architecture_does_not_use_are_rejected(string architecture, int depth, int widen, string parameter)
    {
        var act = () => ModelZoo.Create(new ModelSpec(architecture, Width: 4, Depth: depth, WidenFactor: widen));
        act.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be(parameter);
    }

    [Fact]
    public void Vgg_needs_32_pixel_images()
    {
        var act = () => ModelZoo.Create(new ModelSpec("vgg11", Width: 4, ImageSize: 16));
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*32x32*");
    }

    [Fact]
    public void An_unknown_architecture_lists_the_known_ones()
    {
        var act = () => ModelZoo.Create(new ModelSpec("resnet1000"));
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*resnet1000*wide-resnet*");
    }
}
