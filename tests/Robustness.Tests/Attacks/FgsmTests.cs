using FluentAssertions;
using Robustness.Attacks;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Robustness.Tests.Attacks;

[Collection(TrainedModelCollection.Name)]
public sealed class FgsmTests
{
    private readonly TrainedModelFixture _fixture;

    public FgsmTests(TrainedModelFixture fixture) => _fixture = fixture;

    [Theory]
    [InlineData(Norm.Linf, 8.0 / 255.0)]
    [InlineData(Norm.L2, 0.5)]
    [InlineData(Norm.L1, 12.0)]
    public void Output_is_within_budget_and_in_unit_range(Norm norm, double eps)
    {
        using var scope = torch.NewDisposeScope();
        var adversarial = new Fgsm(new FgsmOptions { Norm = norm, Epsilon = eps }).Run(_fixture.Model, _fixture.Images, _fixture.Labels);
        GradientAttackChecks.WithinBudget(adversarial, _fixture.Images, norm, eps);
    }

    // cleverhans' check: before clipping, the FGM perturbation has norm exactly eps. On images near mid-grey
    // (values in [0.45, 0.55]) clipping to [0,1] cannot bite at these budgets, so the output shows it.
    [Theory]
    [InlineData(Norm.Linf, 8.0 / 255.0)]
    [InlineData(Norm.L2, 0.5)]
    [InlineData(Norm.L1, 3.0)]
    public void Perturbation_norm_equals_eps_on_mid_grey_images(Norm norm, double eps)
    {
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(5);
        var grey = torch.rand([16, 3, 32, 32], generator: generator) * 0.1f + 0.45f;
        var labels = torch.arange(16, dtype: ScalarType.Int64).remainder(10);
        var adversarial = new Fgsm(new FgsmOptions { Norm = norm, Epsilon = eps }).Run(_fixture.Model, grey, labels);
        GradientAttackChecks.Norms(adversarial, grey, norm).Should().AllSatisfy(n => n.Should().BeApproximately(eps, eps * 1e-4));
    }

    [Fact]
    public void Zero_budget_returns_the_input() =>
        GradientAttackChecks.ZeroBudgetReturnsInput(new Fgsm(new FgsmOptions { Epsilon = 0 }), _fixture);

    [Fact]
    public void Lowers_accuracy_below_clean()
    {
        using var scope = torch.NewDisposeScope();
        var adversarial = new Fgsm().Run(_fixture.Model, _fixture.Images, _fixture.Labels);
        _fixture.Accuracy(adversarial).Should().BeLessThan(_fixture.CleanAccuracy);
    }

    [Fact]
    public void Leaves_the_model_unchanged() => GradientAttackChecks.LeavesModelUnchanged(new Fgsm(), _fixture);

    [Theory]
    [InlineData(-0.1)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Bad_budget_raises_naming_the_option(double eps)
    {
        var create = () => new Fgsm(new FgsmOptions { Epsilon = eps });
        create.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("Epsilon");
    }

    [Fact]
    public void Definition_builds_the_default_attack_from_empty_settings()
    {
        var attack = (Fgsm)Fgsm.Definition.Build(new AttackSettings());
        attack.Options.Epsilon.Should().Be(8.0 / 255.0);
        attack.Options.Norm.Should().Be(Norm.Linf);
        ((Fgsm)Fgsm.Definition.Build(new AttackSettings { Norm = Norm.L2 })).Options.Epsilon.Should().Be(0.5);
    }
}
