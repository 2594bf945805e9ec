using FluentAssertions;
using Robustness.Masks;
using Robustness.Models;
using Robustness.Pruning;
using Robustness.Tests.Models;
using Robustness.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Robustness.Tests.Masks;

/// <summary>The one mask API over weights, tokens, attention links and examples.</summary>
public class MaskApiTests
{
    [Fact]
    public void A_weight_mask_applies_reports_and_materialises_a_zeroed_copy()
    {
        using var scope = torch.NewDisposeScope();
        using var model = Classifier.Create(ModelTestSupport.SmallSpecs["small-cnn"], seed: 1);
        using var masks = MaskSet.ByMagnitude(model, 0.75);
        IModelMask mask = new WeightMask(masks);

        using var copy = mask.Materialise(model);
        SparsityReport.Measure(PrunableParameters.Select(copy)).Overall.Should().BeApproximately(0.75, 0.01);
        SparsityReport.Measure(PrunableParameters.Select(model)).Overall.Should().Be(0, "materialising leaves the source alone");
        mask.Report(model).KeptFraction.Should().BeApproximately(0.25, 0.01);
        mask.Apply(model);
        SparsityReport.Measure(PrunableParameters.Select(model)).Overall.Should().BeApproximately(0.75, 0.01);
    }

    [Fact]
    public void A_token_mask_removes_tokens_and_reports_them_per_block()
    {
        using var scope = torch.NewDisposeScope();
        using var vit = Classifier.Create(ModelTestSupport.SmallSpecs["vit"] with { Depth = 3 }, seed: 1);
        var mask = new TokenMask(new TopAttentionTokens(0.25, [1, 2]));

        var report = mask.Report(vit);
        report.Parts.Select(p => p.Kept).Should().Equal([17L, 5, 2], "16 patches and the class token; a quarter kept before block 1, a quarter of that before block 2");
        report.Parts.Should().OnlyContain(p => p.Total == 17);
        ((VisionTransformer)vit.Network).TokenSelector.Should().BeNull("reporting leaves the model as it was");

        using var pruned = mask.Materialise(vit);
        pruned.Macs.Should().BeLessThan(vit.Macs);
        mask.Apply(vit);
        ((VisionTransformer)vit.Network).TokenSelector.Should().BeSameAs(mask.Selector);
        FluentActions.Invoking(() => mask.Apply(Classifier.Create(ModelTestSupport.SmallSpecs["small-cnn"], seed: 1)))
            .Should().Throw<ArgumentException>().WithMessage("*Vision Transformer*");
    }

    private sealed class Diagonal : IAttentionLinkMask
    {
        public Tensor? Mask(int block, int tokens) => block == 0 ? null : torch.eye(tokens, dtype: ScalarType.Bool);
    }

    [Fact]
    public void An_attention_link_mask_reports_the_links_kept()
    {
        using var scope = torch.NewDisposeScope();
        using var vit = Classifier.Create(ModelTestSupport.SmallSpecs["vit"], seed: 1);
        var mask = new AttentionLinkMask(new Diagonal());
        var report = mask.Report(vit);
        report.Parts.Select(p => p.Kept).Should().Equal(17 * 17, 17);
        using var copy = mask.Materialise(vit);
        using var images = ModelTestSupport.Images(vit.Spec, 2);
        vit.Eval();
        copy.Eval();
        copy.Forward(images).allclose(vit.Forward(images)).Should().BeFalse("cut links change the attention");
    }

    [Fact]
    public void An_example_mask_trains_on_the_kept_examples_only()
    {
        var mask = ExampleMask.FromIndices(10, [1, 4, 7]);
        mask.Report().Parts.Single().Should().Be(new MaskPart("examples", 3, 10));
        var sampler = mask.Sampler(new ShuffledBatches(2));
        sampler.BatchesPerEpoch(10).Should().Be(2);
        var drawn = sampler.Batches(0, 10, new Random(1)).SelectMany(b => b).ToList();
        drawn.Should().BeEquivalentTo([1, 4, 7]);
        FluentActions.Invoking(() => sampler.Batches(0, 9, new Random(1)).ToList()).Should().Throw<ArgumentException>().WithMessage("*10 examples*");
        FluentActions.Invoking(() => new ExampleMask(new bool[3])).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void The_report_prints_a_table()
    {
        var report = new MaskReport(MaskTarget.Channels, [new MaskPart("conv1", 4, 8), new MaskPart("layer1.0.mid", 2, 8)]);
        report.KeptFraction.Should().Be(6.0 / 16);
        report.ToMarkdown().Should().Contain("| conv1 | 4 | 8 | 50.0 |").And.Contain("| all | 6 | 16 | 37.5 |");
    }
}
