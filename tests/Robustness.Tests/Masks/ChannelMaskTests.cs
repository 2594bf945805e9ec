using FluentAssertions;
using Robustness.Masks;
using Robustness.Models;
using Robustness.Tests.Models;
using TorchSharp;
using Xunit;

namespace Robustness.Tests.Masks;

/// <summary>
/// Channel masks on spec networks: the masked network (input columns zeroed) and the physically sliced one give the
/// same logits, the sliced one is a normal smaller model, nested selections nest, and a selection that no spec can
/// hold is refused naming its groups.
/// </summary>
public class ChannelMaskTests
{
    public static TheoryData<string, bool> Cases() => new()
    {
        { "resnet18", false }, { "resnet18", true }, { "vgg11", false }, { "vgg11", true },
        { "wide-resnet", true }, { "mixed", false }, { "bottleneck", true },
    };

    private static ModelSpec Spec(string name) => name switch
    {
        "resnet18" => ArchSpecs.ResNet18(8).ToModelSpec(imageSize: 16),
        "vgg11" => ArchSpecs.Vgg(11, 8).ToModelSpec(),
        "wide-resnet" => ArchSpecs.WideResNet(16, 2, 4).ToModelSpec(imageSize: 16),
        "bottleneck" => new ArchSpec(new StemSpec(8), [new(BlockKind.Bottleneck, 16, 2, Expansion: 2), new(BlockKind.Bottleneck, 16, 2, Stride: 2, Expansion: 2)]).ToModelSpec(imageSize: 16),
        _ => ModelTestSupport.MixedArchSpec.ToModelSpec(imageSize: 16) with { },
    };

    private static Classifier Trained(ModelSpec spec)
    {
        var classifier = Classifier.Create(spec, seed: 4);
        ModelTestSupport.WarmUpBatchNorm(classifier);
        classifier.Eval();
        return classifier;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_masked_and_the_sliced_network_give_the_same_logits(string name, bool byImportance)
    {
        using var scope = torch.NewDisposeScope();
        var spec = Spec(name);
        using var full = Trained(spec);
        var selection = byImportance ? ChannelSelection.ByL1Norm(full, 0.5) : ChannelSelection.Leading(ChannelSelection.PlanOf(full), 0.5);
        var mask = new ChannelMask(selection);

        using var masked = full.Clone();
        mask.Apply(masked);
        using var sliced = mask.Materialise(full);

        using var images = ModelTestSupport.Images(spec, 4);
        var expected = masked.Forward(images);
        var actual = sliced.Forward(images);
        actual.allclose(expected, rtol: 1e-4, atol: 1e-5).Should().BeTrue($"max difference {(actual - expected).abs().max().item<float>():g3}");
        full.Forward(images).allclose(expected, rtol: 1e-3, atol: 1e-3).Should().BeFalse("half the channels are gone");

        sliced.ParameterCount.Should().BeLessThan(full.ParameterCount / 2);
        sliced.Macs.Should().BeLessThan(full.Macs / 2);
        sliced.Spec.Architecture.Should().Be(SpecNetwork.FamilyName);
        sliced.IsTraining.Should().BeFalse();
        var report = mask.Report(full);
        report.Target.Should().Be(MaskTarget.Channels);
        report.KeptFraction.Should().BeInRange(0.5, 0.6);
    }

    [Fact]
    public void Keeping_every_channel_slices_to_the_same_network()
    {
        using var scope = torch.NewDisposeScope();
        var spec = Spec("mixed");
        using var full = Trained(spec);
        using var sliced = new ChannelMask(ChannelSelection.All(ChannelSelection.PlanOf(full))).Materialise(full);
        var state = sliced.Network.state_dict();
        foreach (var (name, value) in full.Network.state_dict())
            ModelTestSupport.Identical(state[name], value).Should().BeTrue(name);
    }

    [Fact]
    public void The_sliced_ResNet18_is_the_half_width_ResNet18_and_saves_as_a_normal_model()
    {
        using var scope = torch.NewDisposeScope();
        using var folder = new TempFolder();
        using var full = Trained(Spec("resnet18"));
        using var sliced = new ChannelMask(ChannelSelection.Leading(ChannelSelection.PlanOf(full), 0.5)).Materialise(full);

        ArchSpec.From(sliced.Spec).Should().Be(ArchSpecs.ResNet18(4) with { Stages = [.. ArchSpecs.ResNet18(4).Stages.Select(s => s with { MidWidth = s.Width })] });
        sliced.Macs.Should().Be(Classifier.Create(new ModelSpec("resnet18", Width: 4, ImageSize: 16), seed: 0).Macs);

        sliced.Save(folder.File("half.safetensors"));
        using var loaded = Classifier.Load(folder.File("half.safetensors"));
        loaded.Eval();
        using var images = ModelTestSupport.Images(sliced.Spec);
        ModelTestSupport.Identical(loaded.Forward(images), sliced.Forward(images)).Should().BeTrue();
    }

    [Fact]
    public void A_zoo_model_with_a_spec_is_masked_and_sliced_through_it()
    {
        using var scope = torch.NewDisposeScope();
        using var zoo = Trained(new ModelSpec("resnet18", Width: 8, ImageSize: 16));
        var mask = new ChannelMask(ChannelSelection.ByL1Norm(zoo, 0.5));
        using var masked = zoo.Clone();
        mask.Apply(masked);
        using var sliced = mask.Materialise(zoo);

        sliced.Spec.Architecture.Should().Be(SpecNetwork.FamilyName);
        using var images = ModelTestSupport.Images(zoo.Spec, 4);
        sliced.Forward(images).allclose(masked.Forward(images), rtol: 1e-4, atol: 1e-5).Should().BeTrue();
    }

    [Fact]
    public void Leading_selections_nest()
    {
        var plan = ChannelPlan.For(ArchSpecs.ResNet18(8));
        var quarter = ChannelSelection.Leading(plan, 0.25);
        var half = ChannelSelection.Leading(plan, 0.5);
        foreach (var group in plan.Groups)
        {
            half.Kept(group.Name).Should().Contain(quarter.Kept(group.Name));
            quarter.KeptCount(group.Name).Should().Be(Math.Max(1, group.Size / 4));
        }
    }

    [Fact]
    public void The_plan_ties_a_residual_stream_across_its_blocks()
    {
        var plan = ChannelPlan.For(ArchSpecs.ResNet18(8));
        plan.Groups.Select(g => g.Name).Should().Equal(
            "conv1", "layer1.0.mid", "layer1.1.mid", "layer2.0.mid", "layer2.0", "layer2.1.mid",
            "layer3.0.mid", "layer3.0", "layer3.1.mid", "layer4.0.mid", "layer4.0", "layer4.1.mid");
        plan.Tensors.Should().Contain(new ChannelTensor("layer1.1.conv2.weight", "conv1", "layer1.1.mid"), "layer 1 adds to the stem's channels");
        plan.Tensors.Should().Contain(new ChannelTensor("layer2.0.shortcut.0.weight", "layer2.0", "conv1"));
        plan.Tensors.Should().Contain(new ChannelTensor("linear.weight", null, "layer4.0"));

        var vgg = ChannelPlan.For(ArchSpecs.Vgg(11, 8));
        vgg.Tensors.Should().Contain(new ChannelTensor("features.4.weight", "features.4", "features.0"), "a pool sits between at index 3");
        vgg.Tensors.Single(t => t.Name == "classifier.weight").InputRepeat.Should().Be(1, "32x32 pools down to 1x1");
        ChannelPlan.For(ArchSpecs.Vgg(11, 8), imageSize: 64).Tensors.Single(t => t.Name == "classifier.weight").InputRepeat.Should().Be(4);
    }

    [Fact]
    public void A_selection_no_spec_can_hold_is_refused_naming_the_groups()
    {
        var plan = ChannelPlan.For(ArchSpecs.ResNet18(8));
        var uneven = ChannelSelection.All(plan).With("layer1.0.mid", [0, 1]);
        var act = () => uneven.SlicedSpec();
        act.Should().Throw<ArgumentException>().WithMessage("*layer1.0.mid 2*layer1.1.mid 8*");
        FluentActions.Invoking(() => ChannelSelection.All(plan).With("layer1.0.mid", [8])).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => ChannelSelection.All(plan).With("nope", [0])).Should().Throw<ArgumentException>().WithMessage("*conv1*");
        FluentActions.Invoking(() => ChannelSelection.Leading(plan, 0)).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("ratio");
    }

    [Fact]
    public void Channel_masks_need_a_spec_network()
    {
        using var cnn = Classifier.Create(ModelTestSupport.SmallSpecs["small-cnn"], seed: 1);
        FluentActions.Invoking(() => ChannelSelection.ByL1Norm(cnn, 0.5)).Should().Throw<ArgumentException>().WithMessage("*small-cnn*");
        using var other = Classifier.Create(Spec("vgg11"), seed: 1);
        var mask = new ChannelMask(ChannelSelection.Leading(ChannelPlan.For(ArchSpecs.ResNet18(8), 16), 0.5));
        FluentActions.Invoking(() => mask.Apply(other)).Should().Throw<ArgumentException>().WithMessage("*another architecture*");
    }

    [Fact]
    public void Training_under_the_mask_set_keeps_dropped_columns_at_zero()
    {
        using var scope = torch.NewDisposeScope();
        var spec = Spec("resnet18");
        using var model = Classifier.Create(spec, seed: 2);
        var mask = new ChannelMask(ChannelSelection.Leading(ChannelSelection.PlanOf(model), 0.5));
        using var masks = mask.ToMaskSet(model);
        masks.Apply(model);
        using var optimizer = torch.optim.SGD(model.Network.parameters(), 0.5, momentum: 0.9);
        for (int step = 0; step < 2; step++)
        {
            optimizer.zero_grad();
            using var images = ModelTestSupport.Images(spec, 4, seed: step);
            var loss = model.Forward(images).pow(2).mean();
            loss.backward();
            masks.Step(model, optimizer);
        }
        var weight = model.Network.state_dict()["layer2.1.conv1.weight"];
        weight.narrow(1, 8, 8).abs().sum().item<float>().Should().Be(0f, "the second half of layer 2's channels is dropped");
        weight.narrow(1, 0, 8).abs().sum().item<float>().Should().BeGreaterThan(0f);
    }
}
