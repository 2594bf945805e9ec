using FluentAssertions;
using Robustness.Models;
using Robustness.Pruning;
using Robustness.Tests.Models;
using TorchSharp;
using static TorchSharp.torch;
using Xunit;

namespace Robustness.Tests.Pruning;

/// <summary>Magnitude projection, masks and the masked step: the sparsity is exact and stays exact.</summary>
public class MaskTests
{
    [Theory]
    [InlineData(0.5)]
    [InlineData(0.75)]
    [InlineData(0.875)]
    [InlineData(0.9375)]
    public void Projection_zeroes_exactly_round_p_n_smallest_magnitudes(double sparsity)
    {
        using var scope = torch.NewDisposeScope();
        var weight = torch.randn(7, 5, 3, 3, generator: new Generator(4));
        long n = weight.numel(), expected = (long)Math.Round(sparsity * n, MidpointRounding.AwayFromZero);
        var projected = MagnitudeProjection.Project(weight, sparsity);
        (n - projected.count_nonzero().item<long>()).Should().Be(expected);
        // Every survivor is at least as large as every removed weight.
        var kept = projected.ne(0);
        float smallestKept = weight.abs().masked_select(kept).min().item<float>();
        float largestRemoved = weight.abs().masked_select(kept.logical_not()).max().item<float>();
        smallestKept.Should().BeGreaterThanOrEqualTo(largestRemoved);
        ModelTestSupport.Identical(projected.masked_select(kept), weight.masked_select(kept)).Should().BeTrue("survivors are unchanged");
    }

    [Fact]
    public void Global_magnitude_pruning_uses_one_threshold_across_layers()
    {
        using var scope = torch.NewDisposeScope();
        using var network = nn.Sequential(("small", nn.Linear(8, 8)), ("large", nn.Linear(8, 8)));
        using (torch.no_grad())
        {
            network.named_parameters().Single(p => p.name == "small.weight").parameter.copy_(torch.linspace(0.01, 0.64, 64).reshape(8, 8));
            network.named_parameters().Single(p => p.name == "large.weight").parameter.copy_(torch.linspace(1, 64, 64).reshape(8, 8));
        }
        using var masks = MaskSet.ByGlobalMagnitude(PrunableParameters.Select(network), 0.5);
        masks["small.weight"]!.Kept.Should().Be(0, "every weight of the small layer is below every weight of the large one");
        masks["large.weight"]!.Kept.Should().Be(64);
        using var layerwise = MaskSet.ByMagnitude(PrunableParameters.Select(network), 0.5);
        layerwise["small.weight"]!.Kept.Should().Be(32, "layer-wise pruning takes half of each");

        using var uneven = MaskSet.ByGlobalMagnitude(PrunableParameters.Select(network), 0.375);
        (128 - uneven.Masks.Sum(m => m.Kept)).Should().Be(48, "round(0.375 * 128) weights go in all");
        FluentActions.Invoking(() => MaskSet.ByGlobalMagnitude(PrunableParameters.Select(network), 1.5)).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Ties_are_broken_by_position_so_the_count_stays_exact()
    {
        using var scope = torch.NewDisposeScope();
        var weight = torch.ones(10);
        var keep = MagnitudeProjection.KeepMask(weight, 0.3);
        keep.data<bool>().ToArray().Should().Equal(false, false, false, true, true, true, true, true, true, true);
        MagnitudeProjection.PrunedCount(10, 0.25).Should().Be(3, "2.5 rounds away from zero");
        MagnitudeProjection.KeepMask(weight, 0).all().item<bool>().Should().BeTrue();
        MagnitudeProjection.KeepMask(weight, 1).any().item<bool>().Should().BeFalse();
        FluentActions.Invoking(() => MagnitudeProjection.KeepMask(weight, 1.5)).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("sparsity");
    }

    public static TheoryData<string> Optimisers() => new() { "sgd", "adam" };

    [Theory]
    [MemberData(nameof(Optimisers))]
    public void Masked_steps_keep_the_exact_sparsity_under_momentum_and_weight_decay(string optimiserName)
    {
        using var classifier = Classifier.Create(new ModelSpec("small-cnn", Classes: 4, Width: 4, ImageSize: 8), seed: 3);
        var generator = new Generator(9);
        using var images = torch.rand([16, 3, 8, 8], generator: generator).DetachFromDisposeScope();
        using var labels = torch.randint(0, 4, [16], generator: generator).DetachFromDisposeScope();
        using var optimizer = optimiserName == "sgd"
            ? (optim.Optimizer)optim.SGD(classifier.Network.parameters(), 0.05, momentum: 0.9, weight_decay: 5e-4)
            : optim.Adam(classifier.Network.parameters(), 0.01, weight_decay: 5e-4);

        // Unmasked steps first, so momentum buffers and Adam's moments hold non-zero values at the pruned weights.
        for (int i = 0; i < 3; i++) TrainStep(classifier, images, labels, optimizer, masks: null);

        using var masks = MaskSet.ByMagnitude(classifier, 0.75);
        masks.Apply(classifier);
        for (int i = 0; i < 5; i++) TrainStep(classifier, images, labels, optimizer, masks);

        var report = SparsityReport.Measure(classifier, masks);
        foreach (var layer in report.Layers)
        {
            layer.Zeros.Should().Be(MagnitudeProjection.PrunedCount(layer.Total, 0.75), $"layer {layer.Name} keeps its exact sparsity");
            var mask = masks[layer.Name]!;
            using var scope = torch.NewDisposeScope();
            var weight = classifier.Network.named_parameters().Single(p => p.name == layer.Name).parameter;
            ModelTestSupport.Identical(weight.ne(0), mask.Keep).Should().BeTrue($"the zeros of {layer.Name} are exactly the pruned positions");
        }
        report.Overall.Should().BeApproximately(0.75, 0.001);
    }

    [Fact]
    public void Masks_from_non_zeros_record_the_hard_prune()
    {
        using var classifier = Classifier.Create(new ModelSpec("small-cnn", Classes: 4, Width: 4, ImageSize: 8), seed: 5);
        var parameters = PrunableParameters.Select(classifier);
        foreach (var p in parameters) MagnitudeProjection.ProjectInPlace(p.Weight, 0.5);
        using var masks = MaskSet.FromNonZeros(parameters);
        masks.Masks.Should().HaveCount(parameters.Count);
        foreach (var m in masks.Masks) m.Pruned.Should().Be(MagnitudeProjection.PrunedCount(m.Total, 0.5));
        masks.Masks.Should().OnlyContain(m => m.Granularity == "unstructured");
    }

    [Fact]
    public void Sparsity_report_counts_only_the_pruned_tensors_and_says_which()
    {
        using var classifier = Classifier.Create(new ModelSpec("small-cnn", Classes: 4, Width: 4, ImageSize: 8), seed: 5);
        using var masks = MaskSet.ByMagnitude(classifier, 0.5);
        masks.Apply(classifier);
        var report = SparsityReport.Measure(classifier);
        report.CountedTensors.Should().Equal(PrunableParameters.Select(classifier).Select(p => p.Name));
        report.Total.Should().Be(PrunableParameters.Select(classifier).Sum(p => p.Count));
        report.Total.Should().BeLessThan(classifier.ParameterCount, "biases and BatchNorm parameters are not counted");
        report.Layers.Should().OnlyContain(l => l.Zeros == MagnitudeProjection.PrunedCount(l.Total, 0.5));

        var json = System.Text.Json.JsonDocument.Parse(report.ToJson()).RootElement;
        json.GetProperty("layers").GetArrayLength().Should().Be(report.Layers.Count);
        json.GetProperty("countedTensors")[0].GetString().Should().Be("features.conv1.weight");
        json.GetProperty("overallSparsity").GetDouble().Should().BeApproximately(report.Overall, 1e-12);
        json.GetProperty("layers")[0].GetProperty("shape").GetArrayLength().Should().Be(4);
        var markdown = report.ToMarkdown();
        markdown.Should().Contain("| features.conv1.weight | 4x3x3x3 | 108 | 54 |").And.Contain("**overall**").And.Contain("not counted");
    }

    private static void TrainStep(Classifier classifier, Tensor images, Tensor labels, optim.Optimizer optimizer, MaskSet? masks)
    {
        using var scope = torch.NewDisposeScope();
        using var mode = classifier.TrainMode();
        optimizer.zero_grad();
        var loss = nn.functional.cross_entropy(classifier.Forward(images), labels);
        loss.backward();
        if (masks is null) optimizer.step();
        else masks.Step(classifier, optimizer);
    }
}
