using FluentAssertions;
using Robustness.Models;
using Xunit;

namespace Robustness.Tests.Models;

/// <summary>Spot checks that state-dict names are exactly those of the PyTorch definitions.</summary>
public class StateDictNamingTests
{
    private static Dictionary<string, long[]> Names(ModelSpec spec)
    {
        using var network = ModelZoo.Create(spec);
        return network.state_dict().ToDictionary(p => p.Key, p => p.Value.shape);
    }

    [Fact]
    public void ResNet18_uses_the_kuangliu_names()
    {
        var names = Names(new ModelSpec("resnet18", Width: 4));
        names.Keys.Should().Contain([
            "conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked",
            "layer1.0.conv1.weight", "layer1.0.bn1.weight", "layer1.1.conv2.weight", "layer1.1.bn2.running_var",
            "layer2.0.shortcut.0.weight", "layer2.0.shortcut.1.running_mean", "layer4.1.bn2.bias",
            "linear.weight", "linear.bias"]);
        names.Keys.Should().NotContain(k => k.StartsWith("layer1.0.shortcut") || k.StartsWith("layer2.1.shortcut"),
            "identity shortcuts hold no tensors");
        names["layer2.0.shortcut.0.weight"].Should().Equal(8, 4, 1, 1);
        names["linear.weight"].Should().Equal(10, 32);
        names.Should().HaveCount(122, "PyTorch's ResNet-18 state_dict has 122 entries (the fixture's count)");
    }

    [Fact]
    public void PreActResNet18_uses_the_reference_names()
    {
        var names = Names(new ModelSpec("preact-resnet18", Width: 4));
        names.Keys.Should().Contain([
            "conv1.weight", "layer1.0.bn1.running_mean", "layer1.0.conv1.weight", "layer1.0.bn2.weight", "layer1.0.conv2.weight",
            "layer3.0.shortcut.0.weight", "bn.weight", "bn.num_batches_tracked", "linear.weight"]);
        names.Keys.Should().NotContain(["bn1.weight", "layer3.0.shortcut.1.weight"]);
        names["layer1.0.bn1.weight"].Should().Equal(4);
        names["layer2.0.bn1.weight"].Should().Equal([4L], "pre-activation BN sees the block input");
    }

    [Fact]
    public void Vgg16_uses_sequential_indices_with_relu_and_pool_slots()
    {
        var names = Names(new ModelSpec("vgg16", Width: 4));
        names["features.0.weight"].Should().Equal(4, 3, 3, 3);
        names["features.0.bias"].Should().Equal(4);
        names["features.1.running_mean"].Should().Equal(4);
        names["features.3.weight"].Should().Equal(4, 4, 3, 3);
        names["features.7.weight"].Should().Equal([8L, 4, 3, 3], "index 6 is the first max-pool");
        names["features.40.weight"].Should().Equal(32, 32, 3, 3);
        names["classifier.weight"].Should().Equal(10, 32);
        names.Keys.Should().NotContain(k => k.StartsWith("features.2.") || k.StartsWith("features.6.") || k.StartsWith("features.44."));
    }

    [Fact]
    public void Vgg11_places_its_pools_as_in_pytorch()
    {
        var names = Names(new ModelSpec("vgg11", Width: 4));
        names["features.4.weight"].Should().Equal([8L, 4, 3, 3], "conv, bn, relu, pool, then the second conv");
        names["features.25.weight"].Should().Equal(32, 32, 3, 3);
        names.Keys.Should().Contain("features.26.num_batches_tracked");
    }

    [Fact]
    public void WideResNet_uses_the_trades_names()
    {
        var names = Names(new ModelSpec("wide-resnet", Width: 16, Depth: 16, WidenFactor: 2));
        names.Keys.Should().Contain([
            "conv1.weight", "block1.layer.0.bn1.weight", "block1.layer.0.conv1.weight", "block1.layer.0.bn2.running_var",
            "block1.layer.0.conv2.weight", "block1.layer.0.convShortcut.weight", "block1.layer.1.conv1.weight",
            "block2.layer.0.convShortcut.weight", "block3.layer.1.conv2.weight", "bn1.weight", "bn1.num_batches_tracked",
            "fc.weight", "fc.bias"]);
        names.Keys.Should().NotContain(["block1.layer.1.convShortcut.weight", "block3.layer.2.conv1.weight"]);
        names["block3.layer.0.convShortcut.weight"].Should().Equal(128, 64, 1, 1);
        names["fc.weight"].Should().Equal(10, 128);
    }

    [Fact]
    public void WideResNet_with_widen_factor_1_has_no_first_shortcut()
    {
        var names = Names(new ModelSpec("wide-resnet", Depth: 10, WidenFactor: 1));
        names.Keys.Should().NotContain("block1.layer.0.convShortcut.weight");
        names.Keys.Should().Contain("block2.layer.0.convShortcut.weight");
    }

    [Fact]
    public void LeNet_uses_the_pwoa_names()
    {
        var names = Names(new ModelSpec("lenet", InputChannels: 1, ImageSize: 28));
        names.Keys.Should().BeEquivalentTo(["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]);
    }
}
