using FluentAssertions;
using FluentAssertions.Equivalency;
using Robustness.Attacks;
using Robustness.Attacks.Evaluation;
using Robustness.Data;
using Robustness.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Robustness.Tests.Attacks.Evaluation;

[Collection(TrainedModelCollection.Name)]
public sealed class AutoAttackEvaluatorTests : IDisposable
{
    private const double Eps = 8.0 / 255.0;
    private readonly TrainedModelFixture _fixture;
    private readonly ImageSet _data;
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "robustness-autoattack-" + Guid.NewGuid().ToString("N"));

    public AutoAttackEvaluatorTests(TrainedModelFixture fixture)
    {
        _fixture = fixture;
        _data = fixture.TestSet.Subset(Enumerable.Range(0, TrainedModelFixture.BatchSize).ToArray());
    }

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    private static AutoAttackOptions Options(string? statePath = null, double eps = Eps) => new() { Epsilon = eps, BatchSize = 16, StatePath = statePath };

    private AutoAttackReport Run(AutoAttackOptions options, params IAttack[] attacks) =>
        new AutoAttackEvaluator(attacks, options).Evaluate(_fixture.Model, _data);

    // Which dataset image each recorded input is (images are distinct).
    private int[] IndicesOf(IEnumerable<float[]> images)
    {
        using var scope = torch.NewDisposeScope();
        var all = Enumerable.Range(0, _data.Count).Select(i => _fixture.Images[i].data<float>().ToArray()).ToArray();
        return images.Select(image => Array.FindIndex(all, a => a.AsSpan().SequenceEqual(image))).ToArray();
    }

    private bool[] CleanCorrect()
    {
        using var scope = torch.NewDisposeScope();
        return _fixture.Model.Predict(_fixture.Images).eq(_fixture.Labels).data<bool>().ToArray();
    }

    [Fact]
    public void Each_attack_runs_only_on_the_points_every_earlier_attack_failed_on()
    {
        var first = FakeAttack.Wrapping(TestPgd.Fgsm(), "first");
        var second = FakeAttack.Identity("second");
        var report = Run(Options(), first, second);

        var correct = CleanCorrect();
        var expectedFirst = Enumerable.Range(0, _data.Count).Where(i => correct[i]).ToArray();
        IndicesOf(first.Inputs).Should().Equal(expectedFirst, "the first attack sees exactly the clean-correct points, in order");

        // What the first attack broke, judged on its own outputs.
        var labels = _fixture.Labels.data<long>().ToArray();
        var broken = new HashSet<int>();
        for (int j = 0; j < first.Outputs.Count; j++)
        {
            using var scope = torch.NewDisposeScope();
            var adv = torch.tensor(first.Outputs[j], [1, 3, 32, 32]);
            var clean = torch.tensor(first.Inputs[j], [1, 3, 32, 32]);
            bool within = (adv - clean).abs().max().item<float>() <= Eps + 1e-6;
            if (within && _fixture.Model.Predict(adv).item<long>() != labels[expectedFirst[j]]) broken.Add(expectedFirst[j]);
        }
        broken.Should().NotBeEmpty("FGSM at 8/255 breaks some points of the small CNN");
        IndicesOf(second.Inputs).Should().Equal(expectedFirst.Where(i => !broken.Contains(i)), "the second attack sees only the points still robust");

        report.CleanCorrect.Should().Be(expectedFirst.Length);
        report.Attacks[0].Attacked.Should().Be(expectedFirst.Length);
        report.Attacks[0].Broken.Should().Be(broken.Count);
        report.Attacks[1].Attacked.Should().Be(expectedFirst.Length - broken.Count);
        report.Attacks[1].Broken.Should().Be(0);
        report.RobustCorrect.Should().Be(expectedFirst.Length - broken.Count);
        report.Attacks[1].RobustAccuracy.Should().Be(report.RobustAccuracy);
    }

    [Fact]
    public void The_ensemble_is_at_most_as_accurate_as_each_of_its_attacks_alone()
    {
        var fgsm = Run(Options(), TestPgd.Fgsm());
        var pgd = Run(Options(), TestPgd.Pgd(steps: 3));
        var both = Run(Options(), TestPgd.Fgsm(), TestPgd.Pgd(steps: 3));

        both.Attacks[0].RobustAccuracy.Should().Be(fgsm.RobustAccuracy, "the first attack runs on the same points in the same batches");
        both.RobustAccuracy.Should().BeLessThanOrEqualTo(fgsm.RobustAccuracy);
        // The second attack runs on other batches; CPU kernels may round differently for other batch sizes, so one
        // borderline image may go either way.
        both.RobustAccuracy.Should().BeLessThanOrEqualTo(pgd.RobustAccuracy + 1.0 / _data.Count);
        both.RobustAccuracy.Should().BeLessThan(both.CleanAccuracy);
        both.Sanity.MaxPerturbationNorm.Should().BeLessThanOrEqualTo(Eps + 1e-6);
        both.Sanity.MinValue.Should().BeGreaterThanOrEqualTo(0);
        both.Sanity.MaxValue.Should().BeLessThanOrEqualTo(1);
        both.Sanity.NanValues.Should().Be(0);
    }

    [Fact]
    public void A_result_outside_the_budget_does_not_count_as_broken()
    {
        // Claims 8/255 but moves 32/255: misclassifies plenty, all outside the threat model.
        var cheat = FakeAttack.Wrapping(TestPgd.Pgd(epsilon: 32.0 / 255.0), "cheat", claimedEpsilon: Eps);
        var report = Run(Options(), cheat);

        report.Attacks[0].Broken.Should().Be(0);
        report.Attacks[0].Rejected.Should().BePositive();
        report.RobustCorrect.Should().Be(report.CleanCorrect);
        report.Sanity.MaxPerturbationNorm.Should().BeGreaterThan(Eps);
        report.Warnings.Should().Contain(w => w.Contains("cheat") && w.Contains("outside the threat model"));
    }

    [Fact]
    public void Results_outside_0_1_or_with_NaNs_do_not_count_as_broken()
    {
        // Within an l-inf budget of 1 but below zero: misclassified, yet not an image.
        var negative = new FakeAttack("negative", (_, x, _) => x - 1f, epsilon: 1.0);
        var nan = new FakeAttack("nan", (_, x, _) => torch.full_like(x, float.NaN), epsilon: 1.0);
        var report = Run(Options(eps: 1.0), negative, nan);

        report.Attacks.Should().OnlyContain(a => a.Broken == 0);
        report.Attacks[0].Rejected.Should().BePositive();
        report.RobustCorrect.Should().Be(report.CleanCorrect);
        report.Sanity.MinValue.Should().BeLessThan(0);
        report.Sanity.NanValues.Should().Be((long)report.CleanCorrect * 3 * 32 * 32);
        report.Warnings.Should().Contain(w => w.Contains("NaN"));
    }

    [Fact]
    public void A_black_box_attack_beating_the_white_box_ones_raises_a_warning()
    {
        var whiteBox = FakeAttack.Identity("weak-white-box");
        var blackBox = FakeAttack.Wrapping(TestPgd.Pgd(), "strong-black-box", blackBox: true);
        var report = Run(Options(), whiteBox, blackBox);

        report.Attacks[1].IsBlackBox.Should().BeTrue();
        report.Attacks[1].Broken.Should().BePositive();
        report.Warnings.Should().Contain(w => w.Contains("Black-box attack strong-black-box"));

        var fair = Run(Options(), FakeAttack.Wrapping(TestPgd.Pgd(), "white-box"), FakeAttack.Identity("black-box", blackBox: true));
        fair.Warnings.Should().NotContain(w => w.Contains("Black-box"));
    }

    [Fact]
    public void A_model_with_constant_output_raises_the_zero_gradient_warning()
    {
        using var constant = Classifier.Create(new ModelSpec("small-cnn", 10, 4), seed: 1);
        using (torch.no_grad())
            foreach (var p in constant.Network.parameters()) p.zero_();
        constant.Eval();
        var report = new AutoAttackEvaluator([TestPgd.Fgsm()], Options()).Evaluate(constant, _data);

        report.ZeroGradientFraction.Should().Be(1.0);
        report.Warnings.Should().Contain(w => w.Contains("exactly zero"));
        report.Attacks[0].Broken.Should().Be(0, "no gradient, no attack");
    }

    [Fact]
    public void The_trained_model_has_no_zero_gradients_and_its_mode_is_restored()
    {
        _fixture.Model.Train();
        try
        {
            var report = Run(Options(), TestPgd.Fgsm());
            report.ZeroGradientFraction.Should().Be(0);
            _fixture.Model.IsTraining.Should().BeTrue();
        }
        finally
        {
            _fixture.Model.Eval();
        }
    }

    [Fact]
    public void A_cancelled_run_resumes_from_its_state_file_and_gives_the_same_report()
    {
        IAttack[] Attacks() => [TestPgd.Fgsm(), TestPgd.Pgd(steps: 2, randomStart: true, seed: 5), FakeAttack.Identity("last")];
        var uninterrupted = new AutoAttackEvaluator(Attacks(), Options()).Evaluate(_fixture.Model, _data);

        string state = Path.Combine(_folder, "state.json");
        int fullBatches = 0;
        new AutoAttackEvaluator(Attacks(), Options()).Evaluate(_fixture.Model, _data, new SyncProgress<EvaluationProgress>(_ => fullBatches++));

        // Stop after 6 batches (4 clean + 2 of the first attack), then after 3 more, then finish.
        RunUntilCancelled(state, Attacks(), 6).Should().BeNull();
        File.Exists(state).Should().BeTrue();
        RunUntilCancelled(state, Attacks(), 3).Should().BeNull();
        int rest = 0;
        var final = new AutoAttackEvaluator(Attacks(), Options(state)).Evaluate(_fixture.Model, _data, new SyncProgress<EvaluationProgress>(_ => rest++));

        rest.Should().Be(fullBatches - 9, "finished batches are not run again");
        final.Should().BeEquivalentTo(uninterrupted, IgnoringTimes);

        // A finished state file gives the report without running anything.
        var idle = FakeAttack.Identity("last");
        IAttack[] again = [TestPgd.Fgsm(), TestPgd.Pgd(steps: 2, randomStart: true, seed: 5), idle];
        new AutoAttackEvaluator(again, Options(state)).Evaluate(_fixture.Model, _data).Should().BeEquivalentTo(uninterrupted, IgnoringTimes);
        idle.Calls.Should().Be(0);
    }

    private AutoAttackReport? RunUntilCancelled(string state, IAttack[] attacks, int batches)
    {
        using var cts = new CancellationTokenSource();
        int seen = 0;
        var progress = new SyncProgress<EvaluationProgress>(_ => { if (++seen == batches) cts.Cancel(); });
        try
        {
            return new AutoAttackEvaluator(attacks, Options(state)).Evaluate(_fixture.Model, _data, progress, cts.Token);
        }
        catch (OperationCanceledException)
        {
            seen.Should().Be(batches);
            return null;
        }
    }

    private static EquivalencyAssertionOptions<AutoAttackReport> IgnoringTimes(EquivalencyAssertionOptions<AutoAttackReport> o) =>
        o.Excluding(m => m.Name.EndsWith("Seconds"));

    [Fact]
    public void A_state_file_from_other_settings_is_refused_with_a_clear_message()
    {
        string state = Path.Combine(_folder, "state.json");
        Run(Options(state), TestPgd.Fgsm());

        var otherBudget = () => Run(Options(state, eps: 4.0 / 255.0), TestPgd.Fgsm(4.0 / 255.0));
        otherBudget.Should().Throw<InvalidOperationException>().WithMessage("*state.json*epsilon*");
        var otherAttacks = () => Run(Options(state), TestPgd.Fgsm(), FakeAttack.Identity());
        otherAttacks.Should().Throw<InvalidOperationException>().WithMessage("*attacks*");

        File.WriteAllText(state, "{ not json");
        var broken = () => Run(Options(state), TestPgd.Fgsm());
        broken.Should().Throw<InvalidDataException>().WithMessage("*state.json*");
    }

    [Fact]
    public void The_report_round_trips_through_JSON_and_renders_as_Markdown()
    {
        var report = Run(Options(), TestPgd.Fgsm(), FakeAttack.Identity("square", blackBox: true));
        var json = report.ToJson();
        json.Should().Contain("\"norm\": \"Linf\"").And.Contain("\"robustAccuracy\"");
        AutoAttackReport.FromJson(json).Should().BeEquivalentTo(report);

        var md = report.ToMarkdown();
        md.Should().Contain("# AutoAttack (linf, eps 8/255)")
            .And.Contain("| 1 | test-fgsm (linf, eps 8/255) | no |")
            .And.Contain("| 2 | square | yes |")
            .And.Contain("Clean accuracy:")
            .And.Contain("Sanity: max linf perturbation");

        var bad = () => AutoAttackReport.FromJson("[1, 2]");
        bad.Should().Throw<InvalidDataException>();
    }

    [Fact]
    public void Standard_asks_for_the_four_attacks_with_the_threat_model_and_5000_Square_queries()
    {
        var asked = new List<(string Name, AttackSettings Settings)>();
        var evaluator = AutoAttackEvaluator.Standard((name, settings) =>
        {
            asked.Add((name, settings));
            return FakeAttack.Identity(name, blackBox: name == "square");
        }, Norm.Linf, Eps, seed: 3);

        asked.Select(a => a.Name).Should().Equal("apgd-ce", "apgd-t", "fab-t", "square");
        asked.Should().OnlyContain(a => a.Settings.Epsilon == Eps && a.Settings.Norm == Norm.Linf && a.Settings.Seed == 3);
        asked[3].Settings.Queries.Should().Be(5000);
        asked.Take(3).Should().OnlyContain(a => a.Settings.Queries == null);
        evaluator.Options.Epsilon.Should().Be(Eps);
        evaluator.Options.Seed.Should().Be(3);
        evaluator.Attacks.Select(a => a.Name).Should().Equal(AutoAttackEvaluator.StandardAttackNames);
    }

    [Fact]
    public void Bad_arguments_raise()
    {
        var l2 = () => new AutoAttackEvaluator([TestPgd.Fgsm()], new AutoAttackOptions { Norm = Norm.L2 });
        l2.Should().Throw<ArgumentException>().WithMessage("*l2*");
        var none = () => new AutoAttackEvaluator([], new AutoAttackOptions());
        none.Should().Throw<ArgumentException>();
        var batch = () => new AutoAttackEvaluator([TestPgd.Fgsm()], new AutoAttackOptions { BatchSize = 0 });
        batch.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("BatchSize");
        var eps = () => new AutoAttackEvaluator([TestPgd.Fgsm()], new AutoAttackOptions { Epsilon = double.NaN });
        eps.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("Epsilon");
        var fraction = () => new AutoAttackEvaluator([TestPgd.Fgsm()], new AutoAttackOptions { BlackBoxWarningFraction = 2 });
        fraction.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("BlackBoxWarningFraction");
    }
}
