using FluentAssertions;
using Robustness.Attacks;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Robustness.Tests.Attacks;

[Collection(TrainedModelCollection.Name)]
public sealed class PgdTests
{
    private readonly TrainedModelFixture _fixture;

    public PgdTests(TrainedModelFixture fixture) => _fixture = fixture;

    [Theory]
    [InlineData(Norm.Linf, 8.0 / 255.0)]
    [InlineData(Norm.L2, 0.5)]
    [InlineData(Norm.L1, 12.0)]
    public void Output_is_within_budget_and_lowers_accuracy(Norm norm, double eps)
    {
        using var scope = torch.NewDisposeScope();
        var adversarial = new Pgd(new PgdOptions { Norm = norm, Epsilon = eps, Steps = 5 }).Run(_fixture.Model, _fixture.Images, _fixture.Labels);
        GradientAttackChecks.WithinBudget(adversarial, _fixture.Images, norm, eps);
        _fixture.Accuracy(adversarial).Should().BeLessThan(_fixture.CleanAccuracy);
    }

    [Fact]
    public void Zero_budget_returns_the_input() =>
        GradientAttackChecks.ZeroBudgetReturnsInput(new Pgd(new PgdOptions { Epsilon = 0 }), _fixture);

    [Fact]
    public void Robust_accuracy_is_below_clean_and_at_most_fgsms()
    {
        using var scope = torch.NewDisposeScope();
        double pgd = _fixture.Accuracy(new Pgd().Run(_fixture.Model, _fixture.Images, _fixture.Labels));
        double fgsm = _fixture.Accuracy(new Fgsm().Run(_fixture.Model, _fixture.Images, _fixture.Labels));
        pgd.Should().BeLessThan(_fixture.CleanAccuracy);
        pgd.Should().BeLessThanOrEqualTo(fgsm);
    }

    // A small budget leaves some images unfooled by one run, so the restarts have work to do.
    [Fact]
    public void Restarts_never_raise_robust_accuracy_and_keep_the_first_run()
    {
        using var scope = torch.NewDisposeScope();
        var single = new PgdOptions { Epsilon = 2.0 / 255.0, Steps = 5, Seed = 7 };
        var once = new Pgd(single).Run(_fixture.Model, _fixture.Images, _fixture.Labels);
        var thrice = new Pgd(single with { Restarts = 3 }).Run(_fixture.Model, _fixture.Images, _fixture.Labels);
        _fixture.Accuracy(once).Should().BeGreaterThan(0, "the restarts need unfooled images to work on");
        _fixture.Accuracy(thrice).Should().BeLessThanOrEqualTo(_fixture.Accuracy(once));
        // Images the first run fooled keep exactly its result.
        var fooledOnce = _fixture.Model.Predict(once).ne(_fixture.Labels).nonzero().squeeze(1);
        GradientAttackChecks.Same(thrice.index_select(0, fooledOnce), once.index_select(0, fooledOnce)).Should().BeTrue();
        GradientAttackChecks.WithinBudget(thrice, _fixture.Images, Norm.Linf, 2.0 / 255.0);
    }

    [Fact]
    public void Targeted_random_reaches_the_target_on_most_images()
    {
        using var scope = torch.NewDisposeScope();
        var options = new PgdOptions { Epsilon = 16.0 / 255.0, Steps = 20, Target = TargetSelection.Random, Seed = 1 };
        var adversarial = new Pgd(options).Run(_fixture.Model, _fixture.Images, _fixture.Labels);
        using var generator = new Generator(1);
        var targets = TargetSelection.Random.Resolve(_fixture.Model, _fixture.Images, _fixture.Labels, generator)!;
        targets.ne(_fixture.Labels).all().item<bool>().Should().BeTrue();
        GradientAttackChecks.TargetRate(_fixture.Model, adversarial, targets).Should().BeGreaterThan(0.7);
        GradientAttackChecks.WithinBudget(adversarial, _fixture.Images, Norm.Linf, 16.0 / 255.0);
    }

    [Fact]
    public void Same_seed_gives_the_same_output_and_another_seed_another()
    {
        using var scope = torch.NewDisposeScope();
        var options = new PgdOptions { Steps = 3, Seed = 5 };
        var a = new Pgd(options).Run(_fixture.Model, _fixture.Images, _fixture.Labels);
        var b = new Pgd(options).Run(_fixture.Model, _fixture.Images, _fixture.Labels);
        var c = new Pgd(options with { Seed = 6 }).Run(_fixture.Model, _fixture.Images, _fixture.Labels);
        GradientAttackChecks.Same(a, b).Should().BeTrue();
        GradientAttackChecks.Same(a, c).Should().BeFalse();
    }

    [Fact]
    public void Stopping_on_success_keeps_fooled_images_fooled()
    {
        using var scope = torch.NewDisposeScope();
        var options = new PgdOptions { Epsilon = 4.0 / 255.0, Seed = 2 };
        var full = new Pgd(options).Run(_fixture.Model, _fixture.Images, _fixture.Labels);
        var early = new Pgd(options with { StopOnSuccess = true }).Run(_fixture.Model, _fixture.Images, _fixture.Labels);
        GradientAttackChecks.WithinBudget(early, _fixture.Images, Norm.Linf, 4.0 / 255.0);
        // One image of tolerance: the subsets' float results may differ in the last bits from the full batch's.
        _fixture.Accuracy(early).Should().BeLessThanOrEqualTo(_fixture.Accuracy(full) + 1.0 / TrainedModelFixture.BatchSize);
    }

    [Fact]
    public void Leaves_the_model_unchanged() =>
        GradientAttackChecks.LeavesModelUnchanged(new Pgd(new PgdOptions { Steps = 2, Restarts = 2 }), _fixture);

    [Fact]
    public void Bad_options_raise_naming_the_option()
    {
        var noSteps = () => new Pgd(new PgdOptions { Steps = 0 });
        noSteps.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("Steps");
        var negativeStep = () => new Pgd(new PgdOptions { StepSize = -1.0 / 255.0 });
        negativeStep.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("StepSize");
        var noRuns = () => new Pgd(new PgdOptions { Restarts = 0 });
        noRuns.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("Restarts");
        var nanBudget = () => new Pgd(new PgdOptions { Epsilon = double.NaN });
        nanBudget.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("Epsilon");
    }

    [Fact]
    public void Default_step_size_is_two_levels_for_linf_and_a_quarter_budget_otherwise()
    {
        new PgdOptions().StepSizeOrDefault.Should().Be(2.0 / 255.0);
        new PgdOptions { Norm = Norm.L2, Epsilon = 0.5 }.StepSizeOrDefault.Should().Be(0.125);
        var built = (Pgd)Pgd.Definition.Build(new AttackSettings { Norm = Norm.L2, Steps = 20, Restarts = 2 });
        built.Options.Should().Be(new PgdOptions { Norm = Norm.L2, Epsilon = 0.5, Steps = 20, Restarts = 2 });
    }
}
