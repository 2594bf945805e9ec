using FluentAssertions;
using Robustness.Pruning;
using Robustness.Tests.Models;
using TorchSharp;
using static TorchSharp.torch;
using Xunit;

namespace Robustness.Tests.Pruning;

/// <summary>Hidden representations by layer name, for every zoo architecture.</summary>
public class RepresentationCaptureTests
{
    [Theory]
    [MemberData(nameof(ModelTestSupport.Architectures), MemberType = typeof(ModelTestSupport))]
    public void Default_layers_are_captured_with_their_graph_and_the_last_is_the_penultimate_feature(string architecture)
    {
        var spec = ModelTestSupport.SmallSpecs[architecture];
        using var classifier = Classifier.Create(spec, seed: 2);
        using var scope = torch.NewDisposeScope();
        var images = ModelTestSupport.Images(spec, count: 3);
        using var capture = new RepresentationCapture(classifier);
        capture.Layers.Count.Should().BeGreaterThanOrEqualTo(3);

        var logits = classifier.Forward(images);
        var representations = capture.Take();
        representations.Should().HaveCount(capture.Layers.Count);
        representations.Should().OnlyContain(r => r.shape[0] == 3 && r.requires_grad);

        // The last default layer is the pooled / penultimate feature the network itself computes.
        using (torch.no_grad())
            representations[^1].flatten(1).allclose(classifier.Features(images), rtol: 1e-5, atol: 1e-6).Should().BeTrue();

        // Gradients of a loss on the representations alone reach the first layer's weights.
        var loss = representations.Select(r => r.pow(2).mean()).Aggregate((a, b) => a + b);
        loss.backward();
        var first = PrunableParameters.Select(classifier)[0].Weight;
        first.grad.Should().NotBeNull();
        first.grad!.abs().sum().item<float>().Should().BeGreaterThan(0f);
        logits.shape.Should().Equal(3, spec.Classes);
    }

    [Fact]
    public void Lenet_layers_are_the_relu_outputs_and_resnet_layers_are_stem_blocks_pooled()
    {
        using var lenet = Classifier.Create(ModelTestSupport.SmallSpecs["lenet"], seed: 1);
        RepresentationLayer.Defaults(lenet).Select(l => l.Name).Should().Equal("conv1.relu", "conv2.relu", "fc1.relu");

        using var resnet = Classifier.Create(ModelTestSupport.SmallSpecs["resnet18"], seed: 1);
        RepresentationLayer.Defaults(resnet).Select(l => l.Name).Should().Equal(
            "stem", "layer1.0", "layer1.1", "layer2.0", "layer2.1", "layer3.0", "layer3.1", "layer4.0", "layer4.1", "pooled");

        using var wrn = Classifier.Create(ModelTestSupport.SmallSpecs["wide-resnet"], seed: 1);
        RepresentationLayer.Defaults(wrn).Select(l => l.Name).Should().Equal("stem", "block1.layer.0", "block2.layer.0", "block3.layer.0", "pooled");
    }

    [Fact]
    public void Relu_outputs_equal_the_networks_and_hooks_go_away_on_dispose()
    {
        var spec = ModelTestSupport.SmallSpecs["small-cnn"];
        using var classifier = Classifier.Create(spec, seed: 4);
        using var scope = torch.NewDisposeScope();
        var images = ModelTestSupport.Images(spec, count: 2);
        var capture = new RepresentationCapture(classifier, [new("bn1", "features.bn1"), new("relu1", "features.relu1"), new("relu1-again", "features.bn1", RepresentationTransform.Relu)]);
        using (torch.no_grad()) classifier.Forward(images);
        var taken = capture.Take();
        ModelTestSupport.Identical(taken[1], nn.functional.relu(taken[0])).Should().BeTrue();
        ModelTestSupport.Identical(taken[2], taken[1]).Should().BeTrue();

        FluentActions.Invoking(() => capture.Take()).Should().Throw<InvalidOperationException>("no forward pass ran since the last Take");
        capture.Dispose();
        using var second = new RepresentationCapture(classifier, [new("conv1", "features.conv1")]);
        using (torch.no_grad()) classifier.Forward(images);
        second.Take().Should().HaveCount(1);
        FluentActions.Invoking(() => capture.Take()).Should().Throw<ObjectDisposedException>();
        FluentActions.Invoking(() => new RepresentationCapture(classifier, [new("x", "no.such.module")]))
            .Should().Throw<ArgumentException>().WithParameterName("layers").WithMessage("*no.such.module*");
    }
}
