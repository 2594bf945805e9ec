using FluentAssertions;
using Robustness.Attacks;
using Robustness.Attacks.Evaluation;
using Robustness.Data;
using Robustness.Training;
using Xunit;

namespace Robustness.Tests.Attacks.Evaluation;

[Collection(TrainedModelCollection.Name)]
public sealed class RobustnessEvaluationTests
{
    private const double Eps = 8.0 / 255.0;
    private readonly TrainedModelFixture _fixture;
    private readonly ImageSet _data;

    public RobustnessEvaluationTests(TrainedModelFixture fixture)
    {
        _fixture = fixture;
        _data = fixture.TestSet.Subset(Enumerable.Range(0, TrainedModelFixture.BatchSize).ToArray());
    }

    [Fact]
    public void Several_attacks_and_budgets_in_one_call()
    {
        var reports = new List<EvaluationProgress>();
        var report = new RobustnessEvaluation(batchSize: 24).Evaluate(_fixture.Model, _data,
            [TestPgd.FgsmDefinition, TestPgd.PgdDefinition], new AttackSettings { Steps = 5 }, [0, 4.0 / 255.0, Eps],
            new SyncProgress<EvaluationProgress>(reports.Add));

        double clean = new Evaluator().Evaluate(_fixture.Model, _data).Accuracy;
        report.CleanAccuracy.Should().Be(clean);
        report.Images.Should().Be(_data.Count);
        report.Entries.Select(e => (e.Attack, e.Epsilon)).Should().Equal(
            ("test-fgsm", 0), ("test-fgsm", 4.0 / 255.0), ("test-fgsm", Eps), ("test-pgd", 0), ("test-pgd", 4.0 / 255.0), ("test-pgd", Eps));
        reports.Select(p => p.Batch).Should().Equal(1, 2, 3);

        foreach (var e in report.Entries)
        {
            e.Attacked.Should().Be(report.CleanCorrect, "only clean-correct images are attacked");
            e.MaxPerturbation.Should().BeLessThanOrEqualTo(e.Epsilon!.Value + 1e-6);
            e.MeanPerturbation.Should().BeLessThanOrEqualTo(e.MaxPerturbation);
            e.SuccessRate.Should().Be((double)e.Broken / e.Attacked);
            e.RobustAccuracy.Should().Be((double)(report.CleanCorrect - e.Broken) / report.Images);
            e.Norm.Should().Be(Norm.Linf);
        }
        RobustAccuracyEntry Entry(string attack, double eps) => report.Entries.Single(e => e.Attack == attack && e.Epsilon == eps);
        Entry("test-fgsm", 0).RobustAccuracy.Should().Be(clean, "eps 0 changes nothing");
        Entry("test-pgd", 0).RobustAccuracy.Should().Be(clean);
        Entry("test-pgd", Eps).RobustAccuracy.Should().BeLessThan(clean);
        Entry("test-pgd", Eps).RobustAccuracy.Should().BeLessThanOrEqualTo(Entry("test-pgd", 4.0 / 255.0).RobustAccuracy);
        Entry("test-pgd", Eps).RobustAccuracy.Should().BeLessThanOrEqualTo(Entry("test-fgsm", Eps).RobustAccuracy + 1.0 / _data.Count);
    }

    [Fact]
    public void The_adversarial_images_come_back_per_batch_with_the_misclassified_images_unchanged()
    {
        var batches = new List<(int[] Indices, byte[] Pixels)>();
        var attack = new Pgd(new PgdOptions { Steps = 3, Seed = 1 });

        var report = new RobustnessEvaluation(batchSize: 24).Evaluate(_fixture.Model, _data, [attack],
            adversarials: b => batches.Add((b.Indices, Robustness.Data.ImageTensors.ToBytes(b.Images))));

        batches.SelectMany(b => b.Indices).Should().BeEquivalentTo(Enumerable.Range(0, _data.Count), "every image comes back once");
        using var scope = TorchSharp.torch.NewDisposeScope();
        var predictions = _fixture.Model.Predict(_data.ToTensor(0, _data.Count)).data<long>().ToArray();
        foreach (var (indices, pixels) in batches)
            for (int i = 0; i < indices.Length; i++)
            {
                var clean = _data.GetImage(indices[i]).ToArray();
                var adversarial = pixels.AsSpan(i * clean.Length, clean.Length).ToArray();
                adversarial.Zip(clean, (a, c) => Math.Abs(a - c)).Max().Should().BeLessThanOrEqualTo(8, "within 8/255 after rounding");
                if (predictions[indices[i]] != _data.Labels[indices[i]])
                    adversarial.Should().Equal(clean, "an image the model already gets wrong is not attacked");
            }
        report.Entries[0].Attacked.Should().Be(report.CleanCorrect);
    }

    [Fact]
    public void A_result_outside_its_budget_does_not_count()
    {
        var cheat = FakeAttack.Wrapping(TestPgd.Pgd(epsilon: 32.0 / 255.0), "cheat", claimedEpsilon: Eps);
        var report = new RobustnessEvaluation(batchSize: 32).Evaluate(_fixture.Model, _data, [cheat]);
        report.Entries[0].Broken.Should().Be(0);
        report.Entries[0].RobustAccuracy.Should().Be(report.CleanAccuracy);
        report.Entries[0].MaxPerturbation.Should().BeGreaterThan(Eps);
    }

    [Fact]
    public void The_report_round_trips_through_JSON_and_renders_a_Markdown_table()
    {
        var report = new RobustnessEvaluation(batchSize: 64).Evaluate(_fixture.Model, _data, [TestPgd.Fgsm(), TestPgd.Pgd(steps: 2)]);
        var json = report.ToJson();
        json.Should().Contain("\"robustAccuracy\"").And.Contain("\"successRate\"").And.Contain("\"norm\": \"Linf\"");
        RobustAccuracyReport.FromJson(json).Should().BeEquivalentTo(report);

        var md = report.ToMarkdown();
        md.Should().Contain("| Attack | Norm | Eps | Robust accuracy | Success rate | Mean perturbation | Max perturbation | Time (s) |")
            .And.Contain("| test-fgsm (linf, eps 8/255) | linf | 8/255 |")
            .And.Contain("| test-pgd (linf, eps 8/255) | linf | 8/255 |");
        var bad = () => RobustAccuracyReport.FromJson("nonsense");
        bad.Should().Throw<InvalidDataException>();
    }

    [Fact]
    public void Bad_arguments_raise()
    {
        var batch = () => new RobustnessEvaluation(batchSize: 0);
        batch.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("batchSize");
        var none = () => new RobustnessEvaluation().Evaluate(_fixture.Model, _data, Array.Empty<IAttack>());
        none.Should().Throw<ArgumentException>();
        var negative = () => RobustnessEvaluation.Build([TestPgd.PgdDefinition], new AttackSettings(), [-0.1]);
        negative.Should().Throw<ArgumentOutOfRangeException>();
    }
}
