using FluentAssertions;
using Robustness.Attacks;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Robustness.Tests.Attacks;

[Collection(TrainedModelCollection.Name)]
public sealed class DeepFoolTests
{
    private const int Count = 32;
    private readonly TrainedModelFixture _fixture;

    public DeepFoolTests(TrainedModelFixture fixture) => _fixture = fixture;

    private (Tensor Images, Tensor Labels, bool[] Correct) Batch(int count = Count)
    {
        var x = _fixture.Images.narrow(0, 0, count);
        var y = _fixture.Labels.narrow(0, 0, count);
        return (x, y, MinimumNormChecks.Fooled(_fixture.Model, x, y).Select(f => !f).ToArray());
    }

    [Fact]
    public void L2_FoolsAlmostEveryPoint_WithPerturbationsNearTheBoundary()
    {
        using var scope = torch.NewDisposeScope();
        var (x, y, correct) = Batch();
        var adversarial = new DeepFool().Run(_fixture.Model, x, y);

        MinimumNormChecks.ValidImages(adversarial, x);
        var fooled = MinimumNormChecks.Fooled(_fixture.Model, adversarial, y);
        fooled.Where((_, i) => correct[i]).Count(f => f).Should().BeGreaterThanOrEqualTo((int)Math.Ceiling(0.9 * correct.Count(c => c)));
        // Small: no larger than the smallest fooling step along the normalised loss gradient (a one-step l2 gradient
        // attack, line-searched per image), and minimal: half the perturbation puts most points back on the right side.
        var l2 = MinimumNormChecks.Norms(adversarial, x, Norm.L2);
        var gradientStep = SmallestFoolingGradientStep(x, y);
        var both = correct.Select((c, i) => c && fooled[i] && !double.IsInfinity(gradientStep[i])).ToArray();
        both.Count(b => b).Should().BeGreaterThan(correct.Count(c => c) / 2);
        MinimumNormChecks.MeanWhere(l2, both).Should().BeLessThan(MinimumNormChecks.MeanWhere(gradientStep, both));
        var half = x + (adversarial - x) * 0.5;
        var stillFooled = MinimumNormChecks.Fooled(_fixture.Model, half, y).Where((_, i) => correct[i] && fooled[i]).Count(f => f);
        stillFooled.Should().BeLessThan(fooled.Where((_, i) => correct[i]).Count(f => f) / 2);
        // Points the model already gets wrong are returned unchanged.
        for (int i = 0; i < correct.Length; i++)
            if (!correct[i]) l2[i].Should().Be(0);
    }

    // Per image, the smallest l2 radius r on a grid for which x + r * g / ||g||_2 is misclassified (infinity if none).
    private double[] SmallestFoolingGradientStep(Tensor x, Tensor y)
    {
        using var scope = torch.NewDisposeScope();
        var direction = AttackMath.SteepestDirection(AttackMath.InputGradient(_fixture.Model, x, logits => AttackMath.CrossEntropy(logits, y)), Norm.L2);
        var smallest = Enumerable.Repeat(double.PositiveInfinity, (int)x.shape[0]).ToArray();
        for (double radius = 3.0; radius > 0.01; radius *= 0.9)
        {
            var stepped = (x + direction * radius).clamp(0, 1);
            var fooled = MinimumNormChecks.Fooled(_fixture.Model, stepped, y);
            var norms = MinimumNormChecks.Norms(stepped, x, Norm.L2);
            for (int i = 0; i < smallest.Length; i++)
                if (fooled[i]) smallest[i] = norms[i];
        }
        return smallest;
    }

    [Fact]
    public void LinfAndL2VariantsEachMinimiseTheirOwnNorm()
    {
        using var scope = torch.NewDisposeScope();
        var (x, y, correct) = Batch();
        var l2Attack = new DeepFool(new DeepFoolOptions { Norm = Norm.L2 }).Run(_fixture.Model, x, y);
        var linfAttack = new DeepFool(new DeepFoolOptions { Norm = Norm.Linf }).Run(_fixture.Model, x, y);

        MinimumNormChecks.ValidImages(linfAttack, x);
        var fooledLinf = MinimumNormChecks.Fooled(_fixture.Model, linfAttack, y);
        fooledLinf.Where((_, i) => correct[i]).Count(f => f).Should().BeGreaterThanOrEqualTo((int)Math.Ceiling(0.9 * correct.Count(c => c)));
        var both = correct.Select((c, i) => c && fooledLinf[i]).ToArray();
        MinimumNormChecks.MeanWhere(MinimumNormChecks.Norms(linfAttack, x, Norm.Linf), both)
            .Should().BeLessThan(MinimumNormChecks.MeanWhere(MinimumNormChecks.Norms(l2Attack, x, Norm.Linf), both), "l-inf DeepFool is smaller in l-inf");
        MinimumNormChecks.MeanWhere(MinimumNormChecks.Norms(l2Attack, x, Norm.L2), both)
            .Should().BeLessThan(MinimumNormChecks.MeanWhere(MinimumNormChecks.Norms(linfAttack, x, Norm.L2), both), "l2 DeepFool is smaller in l2");
        // l-inf steps are signs: almost every pixel changes, by nearly the same amount.
        using var noGrad = torch.no_grad();
        var delta = (linfAttack - x).abs().flatten(1);
        var changed = delta.gt(delta.amax([1L], keepdim: true) * 0.5).to(ScalarType.Float32).mean(new long[] { 1 });
        var index = torch.tensor(both.Select((b, i) => (b, i)).Where(p => p.b).Select(p => (long)p.i).ToArray());
        changed.index_select(0, index).mean().item<float>().Should().BeGreaterThan(0.5f);
    }

    [Fact]
    public void IsDeterministic_AndTheModelIsLeftAsItWas()
    {
        using var scope = torch.NewDisposeScope();
        var (x, y, _) = Batch(8);
        var attack = new DeepFool(new DeepFoolOptions { Norm = Norm.Linf, MaxIterations = 3 });
        MinimumNormChecks.Same(attack.Run(_fixture.Model, x, y), attack.Run(_fixture.Model, x, y)).Should().BeTrue();
        MinimumNormChecks.LeavesModelUnchanged(attack, _fixture);
    }

    [Fact]
    public void OneIterationWithTwoCandidatesStillStaysInTheBox()
    {
        using var scope = torch.NewDisposeScope();
        var (x, y, _) = Batch(8);
        var adversarial = new DeepFool(new DeepFoolOptions { MaxIterations = 1, Candidates = 2, Overshoot = 0 }).Run(_fixture.Model, x, y);
        MinimumNormChecks.ValidImages(adversarial, x);
    }

    [Fact]
    public void IsAMinimumNormAttack_WithACatalogueEntry()
    {
        var attack = new DeepFool();
        attack.Epsilon.Should().BeNull();
        attack.Norm.Should().Be(Norm.L2);
        attack.Options.Overshoot.Should().Be(0.02);
        attack.Options.MaxIterations.Should().Be(50);
        attack.Options.Candidates.Should().Be(10);
        DeepFool.Definition.IsMinimumNorm.Should().BeTrue();
        var built = (DeepFool)DeepFool.Definition.Build(new AttackSettings { Norm = Norm.Linf, Steps = 4 });
        built.Norm.Should().Be(Norm.Linf);
        built.Options.MaxIterations.Should().Be(4);
        FluentActions.Invoking(() => DeepFool.Definition.Build(new AttackSettings { Norm = Norm.L1 })).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => DeepFool.Definition.Build(new AttackSettings { Norm = Norm.L2, Target = TargetSelection.Random })).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Theory]
    [InlineData(nameof(DeepFoolOptions.Norm))]
    [InlineData(nameof(DeepFoolOptions.MaxIterations))]
    [InlineData(nameof(DeepFoolOptions.Overshoot))]
    [InlineData(nameof(DeepFoolOptions.Candidates))]
    [InlineData(nameof(DeepFoolOptions.Target))]
    public void BadOptionsRaise_NamingTheOption(string option)
    {
        var options = option switch
        {
            nameof(DeepFoolOptions.Norm) => new DeepFoolOptions { Norm = Norm.L1 },
            nameof(DeepFoolOptions.MaxIterations) => new DeepFoolOptions { MaxIterations = 0 },
            nameof(DeepFoolOptions.Overshoot) => new DeepFoolOptions { Overshoot = -0.1 },
            nameof(DeepFoolOptions.Candidates) => new DeepFoolOptions { Candidates = 1 },
            _ => new DeepFoolOptions { Target = TargetSelection.LeastLikely },
        };
        FluentActions.Invoking(() => new DeepFool(options)).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be(option);
    }
}
