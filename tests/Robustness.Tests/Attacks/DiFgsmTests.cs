using FluentAssertions;
using Robustness.Attacks;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Robustness.Tests.Attacks;

[Collection(TrainedModelCollection.Name)]
public sealed class DiFgsmTests
{
    private readonly TrainedModelFixture _fixture;

    public DiFgsmTests(TrainedModelFixture fixture) => _fixture = fixture;

    [Theory]
    [InlineData(Norm.Linf, 8.0 / 255.0, 2.0 / 255.0)]
    [InlineData(Norm.L2, 0.5, 0.125)]
    public void Output_is_within_budget_and_lowers_accuracy(Norm norm, double eps, double stepSize)
    {
        using var scope = torch.NewDisposeScope();
        var options = new DiFgsmOptions { Norm = norm, Epsilon = eps, StepSize = stepSize, Decay = 1.0 };
        var adversarial = new DiFgsm(options).Run(_fixture.Model, _fixture.Images, _fixture.Labels);
        GradientAttackChecks.WithinBudget(adversarial, _fixture.Images, norm, eps);
        _fixture.Accuracy(adversarial).Should().BeLessThan(_fixture.CleanAccuracy);
    }

    [Fact]
    public void Zero_budget_returns_the_input() =>
        GradientAttackChecks.ZeroBudgetReturnsInput(new DiFgsm(new DiFgsmOptions { Epsilon = 0 }), _fixture);

    // With diversity probability 0 no step goes through the transform: M-DI2-FGSM is MI-FGSM with the same settings,
    // bit for bit.
    [Fact]
    public void Without_diversity_it_equals_mi_fgsm_exactly()
    {
        using var scope = torch.NewDisposeScope();
        var di = new DiFgsm(new DiFgsmOptions { DiversityProbability = 0, Decay = 1.0, Steps = 5, StepSize = 1.0 / 255.0 });
        var mi = new MiFgsm(new MiFgsmOptions { Decay = 1.0, Steps = 5, StepSize = 1.0 / 255.0 });
        GradientAttackChecks.Same(di.Run(_fixture.Model, _fixture.Images, _fixture.Labels), mi.Run(_fixture.Model, _fixture.Images, _fixture.Labels))
            .Should().BeTrue();
    }

    // ...and with decay 0 as well (DI2-FGSM), it is BIM: sign(g / mean|g|) = sign(g), same steps, same clipping.
    [Fact]
    public void Without_diversity_or_momentum_it_equals_bim_exactly()
    {
        using var scope = torch.NewDisposeScope();
        var di = new DiFgsm(new DiFgsmOptions { DiversityProbability = 0, Decay = 0, Steps = 5, StepSize = 1.0 / 255.0 });
        var bim = new Bim(new BimOptions { Steps = 5, StepSize = 1.0 / 255.0 });
        GradientAttackChecks.Same(di.Run(_fixture.Model, _fixture.Images, _fixture.Labels), bim.Run(_fixture.Model, _fixture.Images, _fixture.Labels))
            .Should().BeTrue();
    }

    [Fact]
    public void Diversity_changes_the_result_and_the_same_seed_repeats_it()
    {
        using var scope = torch.NewDisposeScope();
        var options = new DiFgsmOptions { Steps = 4, Seed = 9 };
        var a = new DiFgsm(options).Run(_fixture.Model, _fixture.Images, _fixture.Labels);
        var b = new DiFgsm(options).Run(_fixture.Model, _fixture.Images, _fixture.Labels);
        var plain = new DiFgsm(options with { DiversityProbability = 0 }).Run(_fixture.Model, _fixture.Images, _fixture.Labels);
        GradientAttackChecks.Same(a, b).Should().BeTrue();
        GradientAttackChecks.Same(a, plain).Should().BeFalse();
    }

    [Fact]
    public void The_transform_keeps_shape_and_range_and_changes_the_image()
    {
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(4);
        var images = _fixture.Images.narrow(0, 0, 4);
        for (int i = 0; i < 5; i++)
        {
            var transformed = DiFgsm.Diversify(images, generator, probability: 1.0, rate: 1.1);
            transformed.shape.Should().Equal(images.shape);
            transformed.min().item<float>().Should().BeGreaterThanOrEqualTo(0f);
            transformed.max().item<float>().Should().BeLessThanOrEqualTo(1f);
            GradientAttackChecks.Same(transformed, images).Should().BeFalse("padding always moves the image");
        }
    }

    [Fact]
    public void Leaves_the_model_unchanged() =>
        GradientAttackChecks.LeavesModelUnchanged(new DiFgsm(new DiFgsmOptions { Steps = 2 }), _fixture);

    [Fact]
    public void Bad_options_raise_naming_the_option()
    {
        var noGrowth = () => new DiFgsm(new DiFgsmOptions { ResizeRate = 1.0 });
        noGrowth.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("ResizeRate");
        var badProbability = () => new DiFgsm(new DiFgsmOptions { DiversityProbability = 1.5 });
        badProbability.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("DiversityProbability");
        var noSteps = () => new DiFgsm(new DiFgsmOptions { Steps = 0 });
        noSteps.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("Steps");
    }
}
