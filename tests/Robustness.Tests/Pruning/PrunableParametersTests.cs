using FluentAssertions;
using Robustness.Pruning;
using Robustness.Tests.Models;
using TorchSharp.Modules;
using Xunit;

namespace Robustness.Tests.Pruning;

/// <summary>Which weights pruning touches, for every zoo architecture.</summary>
public class PrunableParametersTests
{
    [Theory]
    [MemberData(nameof(ModelTestSupport.Architectures), MemberType = typeof(ModelTestSupport))]
    public void Every_conv_and_linear_weight_is_selected_and_nothing_else(string architecture)
    {
        using var classifier = Classifier.Create(ModelTestSupport.SmallSpecs[architecture], seed: 1);
        var selected = PrunableParameters.Select(classifier);
        var names = selected.Select(p => p.Name).ToArray();

        int convAndLinear = classifier.Network.named_modules().Count(m => m.module is Convolution or Linear);
        selected.Should().HaveCount(convAndLinear);
        names.Should().OnlyContain(n => n.EndsWith(".weight"));
        selected.Should().OnlyContain(p => p.LayerType == "Conv2d" || p.LayerType == "Linear");
        // No biases, no BatchNorm: BatchNorm weights are 1-D, conv and linear weights are 4-D and 2-D.
        selected.Should().OnlyContain(p => p.Weight.dim() == 4 || p.Weight.dim() == 2);
        // Every parameter of two or more dimensions but a ViT's class token and positions, which are embeddings, not weights.
        var everyMatrixOrKernel = classifier.Network.named_parameters()
            .Where(p => p.parameter.dim() >= 2 && p.name is not ("cls_token" or "pos_embed")).Select(p => p.name);
        names.Should().BeEquivalentTo(everyMatrixOrKernel, "every conv kernel and linear matrix is pruned, the first conv and the classifier included");
    }

    [Theory]
    [InlineData("resnet18", "conv1.weight", "layer2.0.shortcut.0.weight", "linear.weight")]
    [InlineData("preact-resnet18", "conv1.weight", "layer3.0.shortcut.0.weight", "linear.weight")]
    [InlineData("wide-resnet", "conv1.weight", "block2.layer.0.convShortcut.weight", "fc.weight")]
    [InlineData("lenet", "conv1.weight", "fc1.weight", "fc2.weight")]
    [InlineData("small-cnn", "features.conv1.weight", "features.conv6.weight", "linear.weight")]
    [InlineData("vgg11", "features.0.weight", "features.4.weight", "classifier.weight")]
    public void First_conv_shortcuts_and_classifier_are_included(string architecture, params string[] expected)
    {
        using var classifier = Classifier.Create(ModelTestSupport.SmallSpecs[architecture], seed: 1);
        var names = PrunableParameters.Select(classifier).Select(p => p.Name).ToArray();
        names.Should().Contain(expected);
        names.Should().NotContain(n => n.Contains("bn") || n.EndsWith(".bias"));
    }
}
