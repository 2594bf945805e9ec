using System.Diagnostics;
using FluentAssertions;
using Robustness.Attacks;
using Robustness.Attacks.Evaluation;
using Robustness.Data;
using Robustness.Models;
using Robustness.Tests.Attacks.Evaluation;
using Robustness.Training;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Robustness.Tests.Training;

public sealed class AdversarialObjectiveTests(ITestOutputHelper output)
{
    private const double Eps = 8.0 / 255.0;

    private static TrainingStep Step(int seed = 0) => new(0, 0, 1, 1, new Random(seed));

    [Fact]
    public void A_PGD_trained_model_is_more_robust_than_a_clean_trained_one()
    {
        var sets = SyntheticImageSet.TrainTest(640, 120, seed: 3, size: 16, classes: 4);
        var recipe = new TrainingOptions { Epochs = 4, BatchSize = 32, LearningRate = 0.05, Seed = 0 };
        double Robust(ITrainingObjective? objective, out double clean)
        {
            var clock = Stopwatch.StartNew();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            using var model = Classifier.Create(new ModelSpec("small-cnn", 4, 8, ImageSize: 16), ChannelStatistics.Of(sets.Train), sets.Train.ClassNames, seed: 0);
            new Trainer(recipe, objective).Train(model, sets.Train);
            var report = new RobustnessEvaluation(120).Evaluate(model, sets.Test, [TestPgd.Pgd(Eps, steps: 7)]);
            clean = report.CleanAccuracy;
            output.WriteLine($"{objective?.ToString() ?? "clean"}: clean {report.CleanAccuracy:P1}, PGD-7 {report.Entries[0].RobustAccuracy:P1}, {clock.Elapsed.TotalSeconds:F1} s wall, {(Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds:F1} s CPU");
            return report.Entries[0].RobustAccuracy;
        }

        double standard = Robust(null, out double standardClean);
        double adversarial = Robust(new PgdAdversarialObjective(PgdAdversarialObjective.MadryDefaults with { Steps = 2, StepSize = 4.0 / 255.0 }), out _);

        standardClean.Should().BeGreaterThan(0.5, "the recipe learns the task");
        adversarial.Should().BeGreaterThan(standard + 0.1);
    }

    private static (Classifier Model, Tensor Images, Tensor Labels) Tiny()
    {
        var set = TinyQuadrants.Create(16, seed: 2);
        var model = TinyQuadrants.Model(seed: 3);
        model.Train();
        return (model, set.ToTensor().DetachFromDisposeScope(), set.LabelsTensor(0, set.Count).DetachFromDisposeScope());
    }

    private static float CrossEntropy(Classifier model, Tensor images, Tensor labels)
    {
        using var scope = torch.NewDisposeScope();
        return nn.functional.cross_entropy(model.Forward(images), labels).item<float>();
    }

    [Fact]
    public void The_TRADES_loss_at_equal_logits_is_the_cross_entropy()
    {
        using var scope = torch.NewDisposeScope();
        var logits = torch.randn([8, 5], generator: new Generator(1)) * 3;
        var labels = torch.tensor(new long[] { 0, 1, 2, 3, 4, 0, 1, 2 });
        float trades = TradesObjective.Loss(logits, logits.clone(), labels, beta: 6).item<float>();
        trades.Should().Be(nn.functional.cross_entropy(logits, labels).item<float>());

        var other = logits + torch.randn([8, 5], generator: new Generator(2));
        TradesObjective.Loss(logits, other, labels, beta: 6).item<float>().Should().BeGreaterThan(trades, "KL > 0 for different distributions");
    }

    [Fact]
    public void TRADES_with_a_zero_budget_is_the_cross_entropy_and_training_mode_stays()
    {
        var (model, images, labels) = Tiny();
        using (model)
        using (images)
        using (labels)
        using (var scope = torch.NewDisposeScope())
        {
            float ce = CrossEntropy(model, images, labels);
            var zero = new TradesObjective(new TradesOptions { Epsilon = 0 }).Compute(model, images, labels, Step());
            zero.Loss.item<float>().Should().BeApproximately(ce, 1e-6f, "x' = x, so the KL term vanishes");
            model.IsTraining.Should().BeTrue();

            var robust = new TradesObjective().Compute(model, images, labels, Step());
            robust.Loss.item<float>().Should().BeGreaterThan(ce);
            robust.Loss.requires_grad.Should().BeTrue();
            model.IsTraining.Should().BeTrue();
        }
    }

    [Fact]
    public void PGD_AT_trains_on_harder_examples_reproducibly_and_keeps_training_mode()
    {
        var (model, images, labels) = Tiny();
        using (model)
        using (images)
        using (labels)
        using (var scope = torch.NewDisposeScope())
        {
            float ce = CrossEntropy(model, images, labels);
            foreach (var crafting in new[] { ModelMode.Train, ModelMode.Eval })
            {
                var objective = new PgdAdversarialObjective(PgdAdversarialObjective.MadryDefaults with { Epsilon = 16.0 / 255.0, StepSize = 4.0 / 255.0, Mode = crafting });
                var first = objective.Compute(model, images, labels, Step(7)).Loss.item<float>();
                first.Should().BeGreaterThan(ce, $"PGD crafted in {crafting} mode raises the loss");
                model.IsTraining.Should().BeTrue();
                // In training mode batch norm uses batch statistics only, so the running statistics that every
                // training-mode forward updates cannot change the result: same seed, same examples.
                if (crafting == ModelMode.Train)
                    objective.Compute(model, images, labels, Step(7)).Loss.item<float>().Should().Be(first, "same seed, same examples");
            }
        }
    }

    [Fact]
    public void PGD_AT_with_an_attack_trains_on_what_the_attack_returns()
    {
        var (model, images, labels) = Tiny();
        using (model)
        using (images)
        using (labels)
        using (var scope = torch.NewDisposeScope())
        {
            var attack = FakeAttack.Wrapping(TestPgd.Pgd(16.0 / 255.0, steps: 3));
            var output = new PgdAdversarialObjective(attack).Compute(model, images, labels, Step());
            attack.Calls.Should().Be(1);
            model.IsTraining.Should().BeTrue();
            var adversarial = torch.stack(attack.Outputs.Select(o => torch.tensor(o, [3, 8, 8])).ToArray());
            output.Loss.item<float>().Should().BeApproximately(CrossEntropy(model, adversarial, labels), 1e-5f);

            var perBatch = PgdAdversarialObjective.FromDefinition(TestPgd.PgdDefinition, new AttackSettings { Epsilon = Eps, Steps = 2 });
            perBatch.ToString().Should().Contain("test-pgd");
            perBatch.Compute(model, images, labels, Step()).Loss.item<float>().Should().BeGreaterThan(0);
        }
    }

    [Fact]
    public void Bad_options_raise_naming_the_option()
    {
        var madry = PgdAdversarialObjective.MadryDefaults;
        ((Action)(() => new PgdAdversarialObjective(madry with { Restarts = 2 }))).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*Restarts*");
        ((Action)(() => new PgdAdversarialObjective(madry with { StopOnSuccess = true }))).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*StopOnSuccess*");
        ((Action)(() => new PgdAdversarialObjective(madry with { Seed = 3 }))).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*training run's seed*");
        ((Action)(() => new PgdAdversarialObjective(madry with { Target = TargetSelection.Random }))).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*untargeted*");
        new PgdAdversarialObjective(madry with { Criterion = AttackCriterion.Margin }).ToString().Should().Contain("margin");
        ((Action)(() => new PgdAdversarialObjective(PgdAdversarialObjective.MadryDefaults with { Steps = 0 }))).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("Steps");
        ((Action)(() => new PgdAdversarialObjective(PgdAdversarialObjective.MadryDefaults with { StepSize = double.NaN }))).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("StepSize");
        ((Action)(() => new PgdAdversarialObjective(PgdAdversarialObjective.MadryDefaults with { Epsilon = -1 }))).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("Epsilon");
        ((Action)(() => new TradesObjective(new TradesOptions { Beta = -1 }))).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("Beta");
        ((Action)(() => new TradesObjective(new TradesOptions { InitialNoise = double.PositiveInfinity }))).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("InitialNoise");
        ((Action)(() => PgdAdversarialObjective.FromDefinition(TestPgd.PgdDefinition, new AttackSettings { Norm = Norm.L1 }))).Should().Throw<ArgumentOutOfRangeException>();
        new PgdAdversarialObjective().Options!.Steps.Should().Be(7, "Madry et al.'s CIFAR-10 recipe");
        new TradesObjective().Options.Should().Be(new TradesOptions { Beta = 6, Epsilon = 8.0 / 255.0, StepSize = 2.0 / 255.0, Steps = 10, InitialNoise = 0.001 });
    }
}
