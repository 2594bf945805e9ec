using FluentAssertions;
using Robustness.Attacks;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Robustness.Tests.Attacks;

[Collection(TrainedModelCollection.Name)]
public sealed class BimTests
{
    private readonly TrainedModelFixture _fixture;

    public BimTests(TrainedModelFixture fixture) => _fixture = fixture;

    [Fact]
    public void Output_is_within_budget_and_in_unit_range()
    {
        using var scope = torch.NewDisposeScope();
        var adversarial = new Bim().Run(_fixture.Model, _fixture.Images, _fixture.Labels);
        GradientAttackChecks.WithinBudget(adversarial, _fixture.Images, Norm.Linf, 8.0 / 255.0);
    }

    [Fact]
    public void Zero_budget_returns_the_input() =>
        GradientAttackChecks.ZeroBudgetReturnsInput(new Bim(new BimOptions { Epsilon = 0 }), _fixture);

    [Fact]
    public void Lowers_accuracy_below_clean_and_at_most_to_fgsm()
    {
        using var scope = torch.NewDisposeScope();
        double bim = _fixture.Accuracy(new Bim().Run(_fixture.Model, _fixture.Images, _fixture.Labels));
        double fgsm = _fixture.Accuracy(new Fgsm().Run(_fixture.Model, _fixture.Images, _fixture.Labels));
        bim.Should().BeLessThan(_fixture.CleanAccuracy);
        bim.Should().BeLessThanOrEqualTo(fgsm);
    }

    [Theory]
    [InlineData(8, 10)]  // min(12, 10)
    [InlineData(4, 5)]   // min(8, 5)
    [InlineData(16, 20)] // min(20, 20)
    [InlineData(1, 1)]   // min(5, 1.25) -> 1
    public void Default_steps_follow_kurakins_rule(int pixels, int steps) =>
        new BimOptions { Epsilon = pixels / 255.0 }.StepsOrDefault.Should().Be(steps);

    [Fact]
    public void Leaves_the_model_unchanged() => GradientAttackChecks.LeavesModelUnchanged(new Bim(), _fixture);

    [Fact]
    public void Bad_options_raise_naming_the_option()
    {
        var noSteps = () => new Bim(new BimOptions { Steps = 0 });
        noSteps.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("Steps");
        var zeroStep = () => new Bim(new BimOptions { StepSize = 0 });
        zeroStep.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("StepSize");
        var l2 = () => new Bim(new BimOptions { Norm = Norm.L2, Epsilon = 0.5 });
        l2.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("Norm");
    }
}
