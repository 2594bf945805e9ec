using FluentAssertions;
using Robustness.Attacks;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Robustness.Tests.Attacks;

[Collection(TrainedModelCollection.Name)]
public sealed class RFgsmTests
{
    private readonly TrainedModelFixture _fixture;

    public RFgsmTests(TrainedModelFixture fixture) => _fixture = fixture;

    [Theory]
    [InlineData(Norm.Linf, 8.0 / 255.0)]
    [InlineData(Norm.L2, 0.5)]
    public void Output_is_within_budget_and_in_unit_range(Norm norm, double eps)
    {
        using var scope = torch.NewDisposeScope();
        var adversarial = new RFgsm(new RFgsmOptions { Norm = norm, Epsilon = eps }).Run(_fixture.Model, _fixture.Images, _fixture.Labels);
        GradientAttackChecks.WithinBudget(adversarial, _fixture.Images, norm, eps);
    }

    [Fact]
    public void Zero_budget_returns_the_input() =>
        GradientAttackChecks.ZeroBudgetReturnsInput(new RFgsm(new RFgsmOptions { Epsilon = 0 }), _fixture);

    [Fact]
    public void Lowers_accuracy_below_clean()
    {
        using var scope = torch.NewDisposeScope();
        var adversarial = new RFgsm().Run(_fixture.Model, _fixture.Images, _fixture.Labels);
        _fixture.Accuracy(adversarial).Should().BeLessThan(_fixture.CleanAccuracy);
    }

    [Fact]
    public void Same_seed_gives_the_same_output_and_another_seed_another()
    {
        using var scope = torch.NewDisposeScope();
        var a = new RFgsm(new RFgsmOptions { Seed = 3 }).Run(_fixture.Model, _fixture.Images, _fixture.Labels);
        var b = new RFgsm(new RFgsmOptions { Seed = 3 }).Run(_fixture.Model, _fixture.Images, _fixture.Labels);
        var c = new RFgsm(new RFgsmOptions { Seed = 4 }).Run(_fixture.Model, _fixture.Images, _fixture.Labels);
        GradientAttackChecks.Same(a, b).Should().BeTrue();
        GradientAttackChecks.Same(a, c).Should().BeFalse();
    }

    [Fact]
    public void Alpha_defaults_to_half_the_budget() =>
        new RFgsmOptions { Epsilon = 16.0 / 255.0 }.AlphaOrDefault.Should().Be(8.0 / 255.0);

    [Fact]
    public void Leaves_the_model_unchanged() => GradientAttackChecks.LeavesModelUnchanged(new RFgsm(), _fixture);

    [Theory]
    [InlineData(-0.01)]
    [InlineData(0.5)] // larger than eps = 8/255
    [InlineData(double.NaN)]
    public void Bad_alpha_raises_naming_the_option(double alpha)
    {
        var create = () => new RFgsm(new RFgsmOptions { Alpha = alpha });
        create.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("Alpha");
    }

    [Fact]
    public void L1_is_refused_naming_the_norm()
    {
        var create = () => new RFgsm(new RFgsmOptions { Norm = Norm.L1, Epsilon = 1 });
        create.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("Norm");
    }
}
