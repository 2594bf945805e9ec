using FluentAssertions;
using Robustness.Attacks;
using Robustness.Data;
using Robustness.Models;
using Xunit;

namespace Robustness.Tests.Models;

/// <summary>The latency harness and the cost card every model gets.</summary>
public class CostCardTests
{
    private static readonly ModelSpec Spec = new("small-cnn", Classes: 4, Width: 4, ImageSize: 8);

    [Fact]
    public void The_harness_times_every_batch_size_and_leaves_the_model_as_it_found_it()
    {
        using var classifier = Classifier.Create(Spec, seed: 1);
        classifier.Train();
        int threads = TorchSharp.torch.get_num_threads();

        var measured = LatencyHarness.Measure(classifier, new LatencyOptions { BatchSizes = [1, 4], Warmup = 1, Repeats = 3, Rounds = 3, Threads = 1 });

        measured.Select(m => m.BatchSize).Should().Equal(1, 4);
        measured.Should().OnlyContain(m => m.Runs == 6 && m.MedianMs > 0 && m.IqrMs >= 0, "two rounds of three are kept, the first round left out");
        classifier.IsTraining.Should().BeTrue();
        TorchSharp.torch.get_num_threads().Should().Be(threads);
    }

    [Fact]
    public void A_card_has_the_cost_and_with_data_the_accuracies()
    {
        using var classifier = Classifier.Create(Spec, seed: 2);
        var test = SyntheticImageSet.Generate(16, seed: 3, size: 8, classes: 4);

        var card = CostCard.For(classifier, new LatencyOptions { BatchSizes = [2], Repeats = 2, Rounds = 1 }, test, new Fgsm());

        card.Parameters.Should().Be(classifier.ParameterCount);
        card.Macs.Should().Be(classifier.Macs);
        card.Latency.Should().ContainSingle().Which.Runs.Should().Be(2);
        card.CleanAccuracy.Should().NotBeNull();
        card.RobustAccuracy.Should().BeLessThanOrEqualTo(card.CleanAccuracy!.Value);
        card.TestImages.Should().Be(16);
        CostCard.ToMarkdown([card]).Should().Contain("| small-cnn width 4").And.Contain("fgsm");
    }

    [Fact]
    public void Bad_latency_options_are_refused_by_name()
    {
        var empty = () => new LatencyOptions { BatchSizes = [] }.Validate();
        empty.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("BatchSizes");
        var zero = () => new LatencyOptions { Repeats = 0 }.Validate();
        zero.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("Repeats");
        ModelFamilyRegistry.BuiltIn.Get("lenet").StandardSpec().InputChannels.Should().Be(1, "LeNet's standard input is 1x28x28");
    }
}
