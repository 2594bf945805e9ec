using FluentAssertions;
using Robustness.Attacks;
using Robustness.Models;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Robustness.Tests.Attacks;

[Collection(TrainedModelCollection.Name)]
public sealed class FabTTests
{
    private const double Eps = 8.0 / 255.0;
    private readonly TrainedModelFixture _fixture;
    private readonly ITestOutputHelper _output;

    public FabTTests(TrainedModelFixture fixture, ITestOutputHelper output)
    {
        _fixture = fixture;
        _output = output;
    }

    private (Tensor Images, Tensor Labels) Batch(int count) => (_fixture.Images.narrow(0, 0, count), _fixture.Labels.narrow(0, 0, count));

    private double Accuracy(Tensor images, Tensor labels)
    {
        using var scope = torch.NewDisposeScope();
        return _fixture.Model.Predict(images).eq(labels).to(ScalarType.Float32).mean().item<float>();
    }

    [Fact]
    public void Linf_ReducesAccuracyAt8Over255_AndNeverExceedsTheBudget()
    {
        using var scope = torch.NewDisposeScope();
        var (x, y) = Batch(32);
        var adversarial = new FabT(new FabTOptions { Epsilon = Eps, Steps = 10 }).Run(_fixture.Model, x, y);

        MinimumNormChecks.ValidImages(adversarial, x);
        MinimumNormChecks.Norms(adversarial, x, Norm.Linf).Max().Should().BeLessThanOrEqualTo(Eps + 1e-6);
        _output.WriteLine($"clean {Accuracy(x, y):P1}, FAB-T 8/255 {Accuracy(adversarial, y):P1}");
        Accuracy(adversarial, y).Should().BeLessThan(Accuracy(x, y));
        // Points not fooled within the budget come back unchanged (FAB-T is accepted only within eps).
        var fooled = MinimumNormChecks.Fooled(_fixture.Model, adversarial, y);
        var norms = MinimumNormChecks.Norms(adversarial, x, Norm.Linf);
        for (int i = 0; i < fooled.Length; i++)
            if (!fooled[i]) norms[i].Should().Be(0);
    }

    [Fact]
    public void L2_StaysWithinItsBudget_AndReducesAccuracy()
    {
        using var scope = torch.NewDisposeScope();
        var (x, y) = Batch(16);
        var adversarial = new FabT(new FabTOptions { Norm = Norm.L2, Epsilon = 0.5, Steps = 10, TargetClasses = 3 }).Run(_fixture.Model, x, y);

        MinimumNormChecks.ValidImages(adversarial, x);
        MinimumNormChecks.Norms(adversarial, x, Norm.L2).Max().Should().BeLessThanOrEqualTo(0.5 + 1e-6);
        _output.WriteLine($"clean {Accuracy(x, y):P1}, FAB-T l2 0.5 {Accuracy(adversarial, y):P1}");
        Accuracy(adversarial, y).Should().BeLessThan(Accuracy(x, y));
    }

    [Fact]
    public void WithoutABudget_FindsAnAdversarialForAlmostEveryPoint()
    {
        using var scope = torch.NewDisposeScope();
        var (x, y) = Batch(16);
        var correct = MinimumNormChecks.Fooled(_fixture.Model, x, y).Select(f => !f).ToArray();
        var attack = new FabT(new FabTOptions { Steps = 10, TargetClasses = 2 });
        attack.Epsilon.Should().BeNull();
        var adversarial = attack.Run(_fixture.Model, x, y);

        MinimumNormChecks.ValidImages(adversarial, x);
        var fooled = MinimumNormChecks.Fooled(_fixture.Model, adversarial, y);
        var norms = MinimumNormChecks.Norms(adversarial, x, Norm.Linf);
        _output.WriteLine($"fooled {fooled.Where((_, i) => correct[i]).Count(f => f)}/{correct.Count(c => c)}; l-inf norms x255: {string.Join(" ", norms.Select(n => (n * 255).ToString("F1")))}");
        fooled.Where((_, i) => correct[i]).Count(f => f).Should().BeGreaterThanOrEqualTo((int)Math.Ceiling(0.9 * correct.Count(c => c)));
    }

    [Fact]
    public void TargetClassesAreCappedAtCMinusOne_ForAFourClassModel()
    {
        using var scope = torch.NewDisposeScope();
        // A random linear model: its decision regions are half-space intersections, so every class is reachable.
        torch.random.manual_seed(1);
        using var model = new Classifier(nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 4)), new ModelSpec("linear", 4, ImageSize: 8), Normalization.Identity());
        model.Eval();
        var x = torch.rand([12, 3, 8, 8], generator: new Generator(4));
        var y = model.Predict(x); // every point starts correctly classified

        var nine = new FabT(new FabTOptions { Steps = 5, TargetClasses = 9 }).Run(model, x, y);
        var three = new FabT(new FabTOptions { Steps = 5, TargetClasses = 3 }).Run(model, x, y);

        MinimumNormChecks.Same(nine, three).Should().BeTrue("9 target classes on 4 classes means the 3 wrong ones");
        MinimumNormChecks.ValidImages(nine, x);
        MinimumNormChecks.Fooled(model, nine, y).Count(f => f).Should().BeGreaterThanOrEqualTo(10);
    }

    [Fact]
    public void ExplicitTargetsAreAttackedOneEach()
    {
        using var scope = torch.NewDisposeScope();
        var (x, y) = Batch(16);
        var adversarial = new FabT(new FabTOptions { Steps = 40, Target = TargetSelection.Random, Seed = 6 }).Run(_fixture.Model, x, y);
        using var generator = new Generator(6);
        var targets = TargetSelection.Random.Resolve(_fixture.Model, x, y, generator)!;
        double reached = _fixture.Model.Predict(adversarial).eq(targets).to(ScalarType.Float32).mean().item<float>();
        _output.WriteLine($"random target reached on {reached:P1}");
        MinimumNormChecks.ValidImages(adversarial, x);
        reached.Should().BeGreaterThanOrEqualTo(0.5);
    }

    [Fact]
    public void ZeroBudgetReturnsTheInput()
    {
        using var scope = torch.NewDisposeScope();
        var (x, y) = Batch(8);
        MinimumNormChecks.Same(new FabT(new FabTOptions { Epsilon = 0 }).Run(_fixture.Model, x, y), x).Should().BeTrue();
    }

    [Fact]
    public void SameSeedGivesTheSameOutput_AndTheModelIsLeftAsItWas()
    {
        using var scope = torch.NewDisposeScope();
        var (x, y) = Batch(8);
        var options = new FabTOptions { Steps = 3, Restarts = 2, TargetClasses = 2, Seed = 9 };
        var first = new FabT(options).Run(_fixture.Model, x, y);
        var second = new FabT(options).Run(_fixture.Model, x, y);
        MinimumNormChecks.Same(first, second).Should().BeTrue();
        MinimumNormChecks.LeavesModelUnchanged(new FabT(options with { Epsilon = Eps }), _fixture);
    }

    [Fact]
    public void DefaultsAreAutoAttacks_AndTheCatalogueEntryIsBounded()
    {
        var options = new FabTOptions();
        options.Norm.Should().Be(Norm.Linf);
        options.Epsilon.Should().BeNull();
        (options.Steps, options.Restarts, options.TargetClasses).Should().Be((100, 1, 9));
        (options.AlphaMax, options.Eta, options.Beta).Should().Be((0.1, 1.05, 0.9));
        FabT.Definition.IsMinimumNorm.Should().BeFalse();
        var built = (FabT)FabT.Definition.Build(new AttackSettings { Norm = Norm.L2, Steps = 12 });
        built.Epsilon.Should().Be(0.5);
        built.Norm.Should().Be(Norm.L2);
        built.Options.Steps.Should().Be(12);
        ((FabT)FabT.Definition.Build(new AttackSettings())).Epsilon.Should().Be(Eps);
    }

    [Theory]
    [InlineData(nameof(FabTOptions.Norm))]
    [InlineData(nameof(FabTOptions.Epsilon))]
    [InlineData(nameof(FabTOptions.Steps))]
    [InlineData(nameof(FabTOptions.Restarts))]
    [InlineData(nameof(FabTOptions.TargetClasses))]
    [InlineData(nameof(FabTOptions.AlphaMax))]
    [InlineData(nameof(FabTOptions.Eta))]
    [InlineData(nameof(FabTOptions.Beta))]
    public void BadOptionsRaise_NamingTheOption(string option)
    {
        var options = option switch
        {
            nameof(FabTOptions.Norm) => new FabTOptions { Norm = Norm.L1 },
            nameof(FabTOptions.Epsilon) => new FabTOptions { Epsilon = -0.1 },
            nameof(FabTOptions.Steps) => new FabTOptions { Steps = 0 },
            nameof(FabTOptions.Restarts) => new FabTOptions { Restarts = 0 },
            nameof(FabTOptions.TargetClasses) => new FabTOptions { TargetClasses = 0 },
            nameof(FabTOptions.AlphaMax) => new FabTOptions { AlphaMax = 1.5 },
            nameof(FabTOptions.Eta) => new FabTOptions { Eta = 0.5 },
            _ => new FabTOptions { Beta = 0 },
        };
        FluentActions.Invoking(() => new FabT(options)).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be(option);
    }
}
