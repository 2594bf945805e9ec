using FluentAssertions;
using Robustness.Data;
using Robustness.Models;
using Robustness.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Robustness.Tests.Training;

public class EvaluatorTests
{
    /// <summary>Predicts the class written into the first pixel (value = class / 255); records the mode it ran in.</summary>
    private sealed class FirstPixelNetwork : nn.Module<Tensor, Tensor>
    {
        private readonly int _classes;

        public FirstPixelNetwork(int classes) : base(nameof(FirstPixelNetwork))
        {
            _classes = classes;
            RegisterComponents();
        }

        public List<bool> ModesSeen { get; } = [];

        public override Tensor forward(Tensor input)
        {
            ModesSeen.Add(training);
            var predicted = input.select(1, 0).select(1, 0).select(1, 0).mul(255f).round().to_type(ScalarType.Int64);
            return nn.functional.one_hot(predicted, _classes).to_type(ScalarType.Float32);
        }
    }

    [Fact]
    public void Per_class_accuracy_is_right_on_a_hand_made_case()
    {
        // labels      0 0 0 1 1 2      (class 3 has no images)
        // predictions 0 0 1 1 2 2  ->  class 0: 2/3, class 1: 1/2, class 2: 1/1, overall 4/6
        long[] labels = [0, 0, 0, 1, 1, 2];
        byte[] predictions = [0, 0, 1, 1, 2, 2];
        var pixels = new byte[labels.Length * 4];
        for (int i = 0; i < labels.Length; i++) pixels[i * 4] = predictions[i];
        var data = new ImageSet(pixels, labels, 1, 2, 2, ["a", "b", "c", "d"]);
        var network = new FirstPixelNetwork(4);
        using var classifier = new Classifier(network, new ModelSpec("first-pixel", Classes: 4, InputChannels: 1, ImageSize: 8),
            Normalization.Identity(1), ["a", "b", "c", "d"]);
        classifier.Train();

        var report = new Evaluator(batchSize: 4).Evaluate(classifier, data);

        report.Total.Should().Be(6);
        report.Correct.Should().Be(4);
        report.Accuracy.Should().BeApproximately(4.0 / 6, 1e-12);
        report.Classes.Select(c => c.Name).Should().Equal("a", "b", "c", "d");
        report.Classes.Select(c => c.Count).Should().Equal(3, 2, 1, 0);
        report.Classes.Select(c => c.Correct).Should().Equal(2, 1, 1, 0);
        report.Classes[0].Accuracy.Should().BeApproximately(2.0 / 3, 1e-12);
        report.Classes[1].Accuracy.Should().Be(0.5);
        report.Classes[2].Accuracy.Should().Be(1.0);
        report.Classes[3].Accuracy.Should().BeNull();

        network.ModesSeen.Should().HaveCount(2).And.OnlyContain(training => !training, "evaluation runs in eval mode");
        classifier.IsTraining.Should().BeTrue("the mode found is restored");
    }

    [Fact]
    public void A_report_round_trips_through_json()
    {
        var report = new AccuracyReport(6, 4, [new ClassAccuracy(0, "a", 3, 2), new ClassAccuracy(1, "b", 3, 2), new ClassAccuracy(2, "c", 0, 0)]);

        string json = report.ToJson();
        var back = AccuracyReport.FromJson(json);

        back.Should().Be(report);
        json.Should().Contain("\"accuracy\"").And.Contain("\"classes\"").And.Contain("\"name\": \"a\"");
        ((Action)(() => AccuracyReport.FromJson("[1,2"))).Should().Throw<InvalidDataException>();
    }

    [Fact]
    public void Mismatched_collections_are_refused()
    {
        using var classifier = TinyQuadrants.Model();
        var gray = new ImageSet(new byte[64], [0], 1, 8, 8, TinyQuadrants.ClassNames);
        ((Action)(() => new Evaluator().Evaluate(classifier, gray))).Should().Throw<ArgumentException>().WithParameterName("data");
        ((Action)(() => new Evaluator(0))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("batchSize");
    }
}
