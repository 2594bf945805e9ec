using FluentAssertions;
using Robustness.Models;
using TorchSharp;
using Xunit;

namespace Robustness.Tests.Models;

/// <summary>
/// Architecture specs: the zoo's CNNs are expressible as specs that build the same networks (names, shapes, seeded
/// weights, logits), a spec round-trips through JSON and through a saved model, the victim zoo's variants build, and
/// bad specs are rejected naming the field.
/// </summary>
public class ArchSpecTests
{
    public static TheoryData<string, ModelSpec, ModelSpec> ZooAndSpec() => new()
    {
        { "resnet18", new ModelSpec("resnet18", Width: 4, ImageSize: 16), ArchSpecs.ResNet18(4).ToModelSpec(imageSize: 16) },
        { "vgg11", new ModelSpec("vgg11", Width: 4), ArchSpecs.Vgg(11, 4).ToModelSpec() },
        { "vgg16", new ModelSpec("vgg16", Width: 4, Classes: 7), ArchSpecs.Vgg(16, 4).ToModelSpec(classes: 7) },
        { "wide-resnet", new ModelSpec("wide-resnet", Width: 4, Depth: 16, WidenFactor: 2, ImageSize: 16), ArchSpecs.WideResNet(16, 2, 4).ToModelSpec(imageSize: 16) },
    };

    [Theory]
    [MemberData(nameof(ZooAndSpec))]
    public void A_zoo_network_and_its_spec_have_the_same_state_dict_seeded_weights_and_logits(string name, ModelSpec zoo, ModelSpec spec)
    {
        using var scope = torch.NewDisposeScope();
        using var hand = Classifier.Create(zoo, seed: 5);
        using var built = Classifier.Create(spec, seed: 5);

        var handState = hand.Network.state_dict();
        var builtState = built.Network.state_dict();
        builtState.Keys.Should().Equal(handState.Keys, $"{name}'s spec names and orders its parameters as the zoo class");
        foreach (var (key, value) in handState)
            ModelTestSupport.Identical(builtState[key], value).Should().BeTrue($"{key} is drawn from the same seed in the same order");

        ModelTestSupport.WarmUpBatchNorm(hand);
        ModelTestSupport.WarmUpBatchNorm(built);
        hand.Eval();
        built.Eval();
        using var images = ModelTestSupport.Images(zoo, 4);
        ModelTestSupport.Identical(built.Forward(images), hand.Forward(images)).Should().BeTrue("the spec computes the same function");
        built.Macs.Should().Be(hand.Macs);
    }

    [Fact]
    public void A_zoo_file_loads_into_its_spec_network()
    {
        using var scope = torch.NewDisposeScope();
        using var folder = new TempFolder();
        var zoo = new ModelSpec("resnet18", Width: 4, ImageSize: 16);
        using var hand = Classifier.Create(zoo, seed: 1);
        ModelTestSupport.WarmUpBatchNorm(hand);
        hand.Save(folder.File("resnet18.safetensors"));

        using var built = Classifier.Create(ArchSpecs.ResNet18(4).ToModelSpec(imageSize: 16), seed: 2);
        built.LoadWeights(folder.File("resnet18.safetensors"));
        hand.Eval();
        built.Eval();
        using var images = ModelTestSupport.Images(zoo);
        ModelTestSupport.Identical(built.Forward(images), hand.Forward(images)).Should().BeTrue();
    }

    public static TheoryData<string> SpecNames() => new() { "resnet18", "resnet20", "vgg11", "vgg13", "vgg16", "wide-resnet", "mixed", "victim" };

    private static ArchSpec Named(string name) => name switch
    {
        "resnet18" => ArchSpecs.ResNet18(),
        "resnet20" => ArchSpecs.ResNet20(),
        "vgg11" => ArchSpecs.Vgg(11),
        "vgg13" => ArchSpecs.Vgg(13),
        "vgg16" => ArchSpecs.Vgg(16),
        "wide-resnet" => ArchSpecs.WideResNet(),
        "mixed" => ModelTestSupport.MixedArchSpec,
        _ => ArchSpecs.ResNet20(8, kernelSize: 7, activation: ActivationKind.Elu),
    };

    [Theory]
    [MemberData(nameof(SpecNames))]
    public void A_spec_round_trips_through_JSON(string name)
    {
        var spec = Named(name);
        var json = spec.ToJson();
        var back = ArchSpec.Parse(json);
        back.Should().Be(spec);
        back.ToJson().Should().Be(json);
        back.GetHashCode().Should().Be(spec.GetHashCode());
    }

    [Fact]
    public void A_hand_written_spec_file_reads_with_defaults_and_names_in_either_case()
    {
        var spec = ArchSpec.Parse("""
            { "stem": { "width": 8 },
              "stages": [ { "block": "basic", "width": 8, "depth": 2 },
                          { "block": "InvertedResidual", "width": 16, "depth": 1, "stride": 2, "expansion": 4, "activation": "hardswish" } ] }
            """);
        spec.Stem.Should().Be(new StemSpec(8));
        spec.Stages[1].Should().Be(new StageSpec(BlockKind.InvertedResidual, 16, 1, Stride: 2, Expansion: 4, Activation: ActivationKind.Hardswish));
        spec.HeadOrDefault.Pooling.Should().Be(HeadPooling.GlobalAverage);
        spec.Layout.Should().Be(ArchLayout.Residual);
    }

    [Fact]
    public void A_saved_spec_model_records_its_spec_and_loads_back()
    {
        using var scope = torch.NewDisposeScope();
        using var folder = new TempFolder();
        var arch = ArchSpecs.Vgg(13, 4, kernelSize: 5, activation: ActivationKind.Tanh);
        using var saved = Classifier.Create(arch.ToModelSpec(), seed: 3);
        saved.Save(folder.File("vgg13.safetensors"));

        using var loaded = Classifier.Load(folder.File("vgg13.safetensors"));
        ArchSpec.From(loaded.Spec).Should().Be(arch);
        ((SpecNetwork)loaded.Network).Spec.Should().Be(arch);
        saved.Eval();
        loaded.Eval();
        using var images = ModelTestSupport.Images(loaded.Spec);
        ModelTestSupport.Identical(loaded.Forward(images), saved.Forward(images)).Should().BeTrue();
    }

    [Theory]
    [InlineData(3, ActivationKind.Relu)]
    [InlineData(5, ActivationKind.Tanh)]
    [InlineData(7, ActivationKind.Elu)]
    public void The_victim_zoo_varies_kernel_size_and_activation(int kernel, ActivationKind activation)
    {
        using var scope = torch.NewDisposeScope();
        foreach (var arch in new[] { ArchSpecs.ResNet9(4, kernel, activation), ArchSpecs.ResNet20(4, kernel, activation), ArchSpecs.ResNet18(4, kernel, activation), ArchSpecs.Vgg(11, 4, kernel, activation), ArchSpecs.Vgg(13, 4, kernel, activation) })
        {
            using var classifier = Classifier.Create(arch.ToModelSpec(), seed: 1);
            var convs = classifier.Network.named_parameters().Where(p => p.name.EndsWith("weight") && p.parameter.dim() == 4 && p.parameter.shape[2] > 1).ToList();
            convs.Should().NotBeEmpty().And.OnlyContain(p => p.parameter.shape[2] == kernel && p.parameter.shape[3] == kernel);
            var logits = classifier.Forward(ModelTestSupport.Images(classifier.Spec, 2));
            logits.shape.Should().Equal(2, 10);
            logits.isfinite().all().item<bool>().Should().BeTrue();
        }
    }

    [Fact]
    public void The_spec_network_uses_the_activation_it_names()
    {
        using var scope = torch.NewDisposeScope();
        using var relu = Classifier.Create(ArchSpecs.ResNet20(4).ToModelSpec(), seed: 1);
        using var tanh = Classifier.Create(ArchSpecs.ResNet20(4, activation: ActivationKind.Tanh).ToModelSpec(), seed: 1);
        relu.Eval();
        tanh.Eval();
        using var images = ModelTestSupport.Images(relu.Spec, 2);
        ModelTestSupport.Identical(relu.Forward(images), tanh.Forward(images)).Should().BeFalse("same weights, different activation");
    }

    [Fact]
    public void ResNet9_has_RED_advs_widths_and_downsampling()
    {
        using var network = new SpecNetwork(ArchSpecs.ResNet9());
        var state = network.state_dict();
        // Stem 64; stride-2 conv to 128; residual pair at 128; conv to 256 and max-pool; residual pair at 256; conv to 128.
        state["conv1.weight"].shape.Should().Equal(64, 3, 3, 3);
        state.Keys.Where(k => state[k].dim() == 4).Should().Equal(["conv1.weight", "layer1.0.conv1.weight", "layer2.0.conv1.weight", "layer2.0.conv2.weight",
            "layer3.0.conv1.weight", "layer4.0.conv1.weight", "layer4.0.conv2.weight", "layer5.0.conv1.weight"], "ResNet-9 has eight convolutions (its ninth layer is the classifier), each once");
        network.parameters().Count().Should().Be(state.Keys.Count(k => !k.Contains("running_") && !k.Contains("num_batches")), "no parameter is registered twice");
        state["linear.weight"].shape.Should().Equal(10, 128);
        using var scope = torch.NewDisposeScope();
        network.eval();
        network.call(torch.zeros(2, 3, 32, 32)).shape.Should().Equal(2, 10);
    }

    [Fact]
    public void ResNet20_has_the_papers_shape()
    {
        using var network = new SpecNetwork(ArchSpecs.ResNet20());
        var state = network.state_dict();
        state.Keys.Count(k => k.EndsWith("conv1.weight") || k.EndsWith("conv2.weight")).Should().Be(1 + 18, "a stem and nine blocks of two convs");
        state["layer3.2.conv2.weight"].shape.Should().Equal(64, 64, 3, 3);
        state["linear.weight"].shape.Should().Equal(10, 64);
        // 269,722 with He et al.'s zero-padding shortcuts (option A); the two 1x1 projections with batch norm (option B)
        // add 16*32 + 64 and 32*64 + 128.
        network.parameters().Sum(p => p.numel()).Should().Be(269_722 + 512 + 64 + 2_048 + 128);
    }

    [Fact]
    public void Bottleneck_and_inverted_residual_blocks_have_their_mid_widths()
    {
        var arch = new ArchSpec(new StemSpec(8),
        [
            new(BlockKind.Bottleneck, 16, 1, Expansion: 4),
            new(BlockKind.InvertedResidual, 16, 1, Stride: 2, Expansion: 6),
            new(BlockKind.InvertedResidual, 16, 1, Expansion: 6, MidWidth: 24),
        ]);
        using var network = new SpecNetwork(arch, classes: 5, imageSize: 16);
        var state = network.state_dict();
        state["layer1.0.conv1.weight"].shape.Should().Equal(4, 8, 1, 1);
        state["layer1.0.conv3.weight"].shape.Should().Equal(16, 4, 1, 1);
        state["layer1.0.shortcut.0.weight"].shape.Should().Equal(16, 8, 1, 1);
        state["layer2.0.conv1.weight"].shape.Should().Equal(96, 16, 1, 1);
        state["layer2.0.conv2.weight"].shape.Should().Equal([96L, 1, 3, 3], "depthwise");
        state["layer3.0.conv2.weight"].shape.Should().Equal([24L, 1, 3, 3], "an explicit mid width wins");
        state.Keys.Should().NotContain(k => k.Contains("layer2.0.shortcut") || k.Contains("layer3.0.shortcut"), "inverted residuals have no projection");
    }

    public static TheoryData<string, string> BadSpecs() => new()
    {
        { """{"stages":[]}""", "Stages" },
        { """{"stem":{"width":4},"stages":[{"block":"basic","width":4,"depth":1,"kernelSize":4}]}""", "Stages[0].KernelSize" },
        { """{"stem":{"width":4},"stages":[{"block":"basic","width":4,"depth":0}]}""", "Stages[0].Depth" },
        { """{"stem":{"width":4},"stages":[{"block":"basic","width":4,"depth":1,"stride":3}]}""", "Stages[0].Stride" },
        { """{"stem":{"width":4},"stages":[{"block":"basic","width":4,"depth":1,"bias":true}]}""", "Stages[0].Bias" },
        { """{"stem":{"width":4,"normalised":false},"stages":[{"block":"preActBasic","width":4,"depth":1},{"block":"basic","width":4,"depth":1}]}""", "Stages[1].Block" },
        { """{"stem":{"width":4},"stages":[{"block":"preActBasic","width":4,"depth":1}]}""", "Stem" },
        { """{"stages":[{"block":"basic","width":4,"depth":1}]}""", "Stem" },
        { """{"stem":{"width":4},"stages":[{"block":"bottleneck","width":4,"depth":1,"expansion":0}]}""", "Stages[0].Expansion" },
    };

    [Theory]
    [MemberData(nameof(BadSpecs))]
    public void A_bad_spec_is_rejected_naming_the_field(string json, string field)
    {
        var act = () => ArchSpec.Parse(json);
        act.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be(field);
    }

    [Fact]
    public void The_family_rejects_fields_the_spec_owns_and_a_missing_spec()
    {
        var spec = ArchSpecs.ResNet20(4).ToModelSpec();
        FluentActions.Invoking(() => ModelZoo.Create(spec with { Width = 8 })).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("Width");
        FluentActions.Invoking(() => ModelZoo.Create(new ModelSpec(SpecNetwork.FamilyName))).Should().Throw<ArgumentOutOfRangeException>()
            .WithMessage("*'spec' parameter*");
        FluentActions.Invoking(() => new SpecNetwork(ArchSpecs.Vgg(11, 4), imageSize: 16)).Should().Throw<ArgumentOutOfRangeException>()
            .Which.ParamName.Should().Be("imageSize");
    }
}
