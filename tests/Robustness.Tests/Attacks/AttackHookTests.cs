using FluentAssertions;
using Robustness.Attacks;
using Robustness.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Robustness.Tests.Attacks;

/// <summary>The attacks' criterion and model-mode hooks (foolbox's criterion, torchattacks' training-mode switch).</summary>
[Collection(TrainedModelCollection.Name)]
public sealed class AttackHookTests
{
    private readonly TrainedModelFixture _fixture;

    public AttackHookTests(TrainedModelFixture fixture) => _fixture = fixture;

    [Fact]
    public void A_criterion_decides_what_pgd_ascends_and_when_it_stops()
    {
        using var scope = torch.NewDisposeScope();
        int lossCalls = 0;
        // Every image counts as fooled from the start: with early stop and no random start, PGD stops at the image.
        var alwaysFooled = AttackCriterion.Create("test: always fooled",
            (logits, labels, _) => { lossCalls++; return AttackMath.CrossEntropy(logits, labels); },
            (logits, _, _) => torch.ones(logits.shape[0], ScalarType.Bool, logits.device));
        var options = new PgdOptions { Steps = 5, RandomStart = false, StopOnSuccess = true };

        var stopped = new Pgd(options with { Criterion = alwaysFooled }).Run(_fixture.Model, _fixture.Images, _fixture.Labels);
        var moved = new Pgd(options).Run(_fixture.Model, _fixture.Images, _fixture.Labels);

        lossCalls.Should().Be(1, "one gradient is taken, then every image has succeeded");
        Robustness.Tests.Models.ModelTestSupport.Identical(stopped, _fixture.Images).Should().BeTrue();
        Robustness.Tests.Models.ModelTestSupport.Identical(moved, _fixture.Images).Should().BeFalse("the default criterion moves the images it has not fooled");
    }

    [Fact]
    public void The_margin_criterion_attacks_within_the_budget()
    {
        using var scope = torch.NewDisposeScope();
        var adversarial = new Pgd(new PgdOptions { Steps = 10, Criterion = AttackCriterion.Margin, Seed = 1 })
            .Run(_fixture.Model, _fixture.Images, _fixture.Labels);

        GradientAttackChecks.WithinBudget(adversarial, _fixture.Images, Norm.Linf, 8.0 / 255);
        _fixture.Accuracy(adversarial).Should().BeLessThan(_fixture.CleanAccuracy - 0.2);
    }

    [Fact]
    public void The_model_mode_is_the_options_and_is_restored()
    {
        using var scope = torch.NewDisposeScope();
        using var model = _fixture.Model.Clone();
        model.Eval();
        var runningMean = RunningMean(model);

        new Fgsm(new FgsmOptions { Mode = ModelMode.Eval }).Run(model, _fixture.Images, _fixture.Labels);
        Robustness.Tests.Models.ModelTestSupport.Identical(RunningMean(model), runningMean).Should().BeTrue("in eval mode batch norm only reads its statistics");

        new Fgsm(new FgsmOptions { Mode = ModelMode.Train }).Run(model, _fixture.Images, _fixture.Labels);
        Robustness.Tests.Models.ModelTestSupport.Identical(RunningMean(model), runningMean).Should().BeFalse("in training mode batch norm updates its statistics");
        model.IsTraining.Should().BeFalse("the mode the attack found is restored");

        model.Train();
        new Fgsm(new FgsmOptions { Mode = ModelMode.Unchanged }).Run(model, _fixture.Images, _fixture.Labels);
        model.IsTraining.Should().BeTrue();
    }

    [Fact]
    public void An_unknown_mode_is_refused_by_name()
    {
        var act = () => new Pgd(new PgdOptions { Mode = (ModelMode)7 });
        act.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("Mode");
    }

    private static Tensor RunningMean(Classifier model) =>
        model.Network.named_buffers().First(b => b.name.EndsWith("running_mean", StringComparison.Ordinal)).buffer.clone();
}
