using FluentAssertions;
using Robustness.Attacks;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Robustness.Tests.Attacks;

public sealed class ApgdScheduleTests
{
    [Fact]
    public void Checkpoints_of_100_iterations_are_the_papers()
    {
        // p_j = 0.22, 0.41, 0.57, 0.70, 0.80, 0.87, 0.93, 0.99 (Croce and Hein, 2020).
        ApgdSchedule.Checkpoints(100).Should().Equal(22, 41, 57, 70, 80, 87, 93, 99);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(20)]
    [InlineData(1000)]
    public void Checkpoints_increase_within_the_run_with_intervals_that_never_grow(int iterations)
    {
        var checkpoints = ApgdSchedule.Checkpoints(iterations);
        checkpoints.Should().NotBeEmpty().And.BeInAscendingOrder().And.OnlyContain(c => c >= 1 && c <= iterations);
        var intervals = checkpoints.Zip(checkpoints.Skip(1), (a, b) => b - a).Prepend(checkpoints[0]).ToArray();
        intervals.Should().BeInDescendingOrder();
        intervals.Should().OnlyContain(i => i >= Math.Max((int)(0.06 * iterations), 1));
    }

    [Fact]
    public void Bad_iterations_raise() =>
        FluentActions.Invoking(() => ApgdSchedule.Checkpoints(0)).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("iterations");
}

[Collection(TrainedModelCollection.Name)]
public sealed class ApgdTests
{
    private const double LinfEps = 8.0 / 255.0;
    private const double L2Eps = 0.5;
    private const int Steps = 20;
    private readonly TrainedModelFixture _fixture;

    public ApgdTests(TrainedModelFixture fixture) => _fixture = fixture;

    public static TheoryData<string, Norm> Variants => new()
    {
        { "apgd-ce", Norm.Linf }, { "apgd-ce", Norm.L2 },
        { "apgd-dlr", Norm.Linf }, { "apgd-dlr", Norm.L2 },
        { "apgd-t", Norm.Linf }, { "apgd-t", Norm.L2 },
    };

    private static IAttack Create(string name, Norm norm, double? eps = null, int steps = Steps, int seed = 0, int targets = 3, TargetSelection? target = null)
    {
        double epsilon = eps ?? (norm == Norm.Linf ? LinfEps : L2Eps);
        target ??= TargetSelection.None;
        return name switch
        {
            "apgd-ce" => new ApgdCe(new ApgdCeOptions { Epsilon = epsilon, Norm = norm, Steps = steps, Seed = seed, Target = target }),
            "apgd-dlr" => new ApgdDlr(new ApgdDlrOptions { Epsilon = epsilon, Norm = norm, Steps = steps, Seed = seed, Target = target }),
            _ => new ApgdT(new ApgdTOptions { Epsilon = epsilon, Norm = norm, Steps = steps, Seed = seed, TargetClasses = targets }),
        };
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Stays_within_budget_and_box_and_lowers_accuracy(string name, Norm norm)
    {
        using var scope = torch.NewDisposeScope();
        var attack = Create(name, norm);
        var adversarial = attack.Run(_fixture.Model, _fixture.Images, _fixture.Labels);

        double eps = attack.Epsilon!.Value;
        AttackMath.PerSampleNorm(adversarial - _fixture.Images, norm).max().item<float>().Should().BeLessThanOrEqualTo((float)(eps + 1e-6));
        adversarial.min().item<float>().Should().BeGreaterThanOrEqualTo(0f);
        adversarial.max().item<float>().Should().BeLessThanOrEqualTo(1f);
        _fixture.Accuracy(adversarial).Should().BeLessThan(_fixture.CleanAccuracy, $"{name} {norm} should fool the model on some images");
    }

    [Theory]
    [InlineData("apgd-ce")]
    [InlineData("apgd-dlr")]
    [InlineData("apgd-t")]
    public void Zero_budget_returns_the_input(string name)
    {
        using var scope = torch.NewDisposeScope();
        var adversarial = Create(name, Norm.Linf, eps: 0).Run(_fixture.Model, _fixture.Images, _fixture.Labels);
        adversarial.eq(_fixture.Images).all().item<bool>().Should().BeTrue();
    }

    [Fact]
    public void Images_already_misclassified_come_back_unchanged()
    {
        using var scope = torch.NewDisposeScope();
        var wrong = _fixture.Model.Predict(_fixture.Images).ne(_fixture.Labels).nonzero().squeeze(1);
        wrong.shape[0].Should().BeGreaterThan(0, "the test needs a few clean errors; the fixture model is not perfect");
        var adversarial = Create("apgd-ce", Norm.Linf, steps: 5).Run(_fixture.Model, _fixture.Images, _fixture.Labels);
        adversarial.index_select(0, wrong).eq(_fixture.Images.index_select(0, wrong)).all().item<bool>().Should().BeTrue();
    }

    [Fact]
    public void Apgd_ce_is_at_least_as_strong_as_pgd10()
    {
        using var scope = torch.NewDisposeScope();
        var apgd = new ApgdCe(new ApgdCeOptions { Epsilon = LinfEps, Steps = Steps, Seed = 1 }).Run(_fixture.Model, _fixture.Images, _fixture.Labels);
        var pgd = Pgd10(LinfEps, 2.0 / 255.0, seed: 1);

        double apgdAccuracy = _fixture.Accuracy(apgd), pgdAccuracy = _fixture.Accuracy(pgd);
        apgdAccuracy.Should().BeLessThanOrEqualTo(pgdAccuracy + 2.0 / TrainedModelFixture.BatchSize,
            $"APGD-CE ({Steps} iterations) left {apgdAccuracy:P1} robust, PGD-10 {pgdAccuracy:P1}");
    }

    // A plain PGD (Madry et al.): uniform random start, 10 signed-gradient steps of the cross-entropy, projected.
    private Tensor Pgd10(double eps, double stepSize, int seed)
    {
        using var generator = new Generator((ulong)seed);
        var x = _fixture.Images;
        var adversarial = (x + AttackMath.RandomInBall(x.shape, Norm.Linf, eps, generator, x.device)).clamp(0, 1);
        for (int i = 0; i < 10; i++)
        {
            var gradient = AttackMath.InputGradient(_fixture.Model, adversarial, logits => AttackMath.CrossEntropy(logits, _fixture.Labels));
            adversarial = (x + AttackMath.Project(adversarial + gradient.sign() * stepSize - x, Norm.Linf, eps)).clamp(0, 1);
        }
        return adversarial;
    }

    [Theory]
    [InlineData("apgd-ce")]
    [InlineData("apgd-dlr")]
    public void Targeted_mode_reaches_the_target_on_most_points(string name)
    {
        using var scope = torch.NewDisposeScope();
        var attack = Create(name, Norm.Linf, eps: 16.0 / 255.0, target: TargetSelection.LeastLikely);
        var adversarial = attack.Run(_fixture.Model, _fixture.Images, _fixture.Labels);
        var targets = LeastLikely();
        double reached = _fixture.Model.Predict(adversarial).eq(targets).to(ScalarType.Float32).mean().item<float>();
        reached.Should().BeGreaterThan(0.5, $"{name} should push most images to their least likely class");
    }

    private Tensor LeastLikely()
    {
        using var noGrad = torch.no_grad();
        return _fixture.Model.Forward(_fixture.Images).argmin(1);
    }

    [Fact]
    public void Apgd_t_tries_at_most_classes_minus_one_targets()
    {
        new ApgdT().TargetCount(10).Should().Be(9);
        new ApgdT().TargetCount(4).Should().Be(3, "9 targets are capped at C - 1 = 3");
        new ApgdT(new ApgdTOptions { TargetClasses = 2 }).TargetCount(10).Should().Be(2);

        // On a 4-class model with the default 9 targets: one clean call, then 3 passes of (1 + Steps) calls each
        // while some image is still unfooled (the budget is tiny, so most stay correct).
        using var scope = torch.NewDisposeScope();
        var (images, labels) = LeadingClassesNetwork.ImagesOf(_fixture, 4);
        var (fourClasses, probe) = QueryCountingNetwork.Around(_fixture.Model, 4, new LeadingClassesNetwork(_fixture.Model.Network, 4));
        var attack = new ApgdT(new ApgdTOptions { Epsilon = 0.5 / 255.0, Steps = 3 });
        var adversarial = attack.Run(fourClasses, images, labels);

        probe.Calls.Should().Be(1 + 3 * (1 + 3));
        AttackMath.PerSampleNorm(adversarial - images, Norm.Linf).max().item<float>().Should().BeLessThanOrEqualTo((float)(0.5 / 255.0 + 1e-6));
    }

    [Fact]
    public void Apgd_t_on_four_classes_lowers_accuracy()
    {
        using var scope = torch.NewDisposeScope();
        var (images, labels) = LeadingClassesNetwork.ImagesOf(_fixture, 4);
        var (fourClasses, _) = QueryCountingNetwork.Around(_fixture.Model, 4, new LeadingClassesNetwork(_fixture.Model.Network, 4));
        double clean = fourClasses.Predict(images).eq(labels).to(ScalarType.Float32).mean().item<float>();
        var adversarial = new ApgdT(new ApgdTOptions { Epsilon = 16.0 / 255.0, Steps = 5 }).Run(fourClasses, images, labels);
        fourClasses.Predict(adversarial).eq(labels).to(ScalarType.Float32).mean().item<float>().Should().BeLessThan((float)clean);
    }

    [Fact]
    public void Dlr_losses_refuse_classifiers_with_too_few_classes()
    {
        using var scope = torch.NewDisposeScope();
        var (threeClasses, _) = QueryCountingNetwork.Around(_fixture.Model, 3, new LeadingClassesNetwork(_fixture.Model.Network, 3));
        var (twoClasses, _) = QueryCountingNetwork.Around(_fixture.Model, 2, new LeadingClassesNetwork(_fixture.Model.Network, 2));
        var (images3, labels3) = LeadingClassesNetwork.ImagesOf(_fixture, 3);
        var (images2, labels2) = LeadingClassesNetwork.ImagesOf(_fixture, 2);

        FluentActions.Invoking(() => new ApgdT().Run(threeClasses, images3, labels3))
            .Should().Throw<ArgumentException>().WithParameterName("classifier").WithMessage("*at least 4 classes*3*");
        FluentActions.Invoking(() => new ApgdDlr(new ApgdDlrOptions { Target = TargetSelection.Random }).Run(threeClasses, images3, labels3))
            .Should().Throw<ArgumentException>().WithMessage("*at least 4 classes*");
        FluentActions.Invoking(() => new ApgdDlr().Run(twoClasses, images2, labels2))
            .Should().Throw<ArgumentException>().WithMessage("*at least 3 classes*");
        FluentActions.Invoking(() => new ApgdDlr(new ApgdDlrOptions { Steps = 2 }).Run(threeClasses, images3, labels3)).Should().NotThrow();
    }

    [Fact]
    public void Bad_options_raise_naming_the_option()
    {
        void Raises(Action create, string option) =>
            create.Should().Throw<ArgumentOutOfRangeException>().WithParameterName(option);

        Raises(() => new ApgdCe(new ApgdCeOptions { Steps = 0 }), "Steps");
        Raises(() => new ApgdCe(new ApgdCeOptions { Restarts = 0 }), "Restarts");
        Raises(() => new ApgdCe(new ApgdCeOptions { Rho = 0 }), "Rho");
        Raises(() => new ApgdDlr(new ApgdDlrOptions { Rho = 1.5 }), "Rho");
        Raises(() => new ApgdDlr(new ApgdDlrOptions { Momentum = double.NaN }), "Momentum");
        Raises(() => new ApgdCe(new ApgdCeOptions { Epsilon = -0.1 }), "Epsilon");
        Raises(() => new ApgdCe(new ApgdCeOptions { Epsilon = double.PositiveInfinity }), "Epsilon");
        Raises(() => new ApgdCe(new ApgdCeOptions { Norm = Norm.L1 }), "Norm");
        Raises(() => new ApgdT(new ApgdTOptions { TargetClasses = 0 }), "TargetClasses");
        Raises(() => new ApgdT(new ApgdTOptions { Target = TargetSelection.Random }), "Target");
        Raises(() => new ApgdCe(new ApgdCeOptions { Seed = -1 }), "Seed");
    }

    [Theory]
    [InlineData("apgd-ce", Norm.Linf)]
    [InlineData("apgd-dlr", Norm.L2)]
    public void Same_seed_gives_the_same_output_and_the_model_is_left_as_it_was(string name, Norm norm)
    {
        using var scope = torch.NewDisposeScope();
        var model = _fixture.Model;
        var weights = model.Network.parameters().Select(p => p.detach().clone()).ToArray();
        var gradients = model.Network.parameters().Select(p => p.grad?.detach().clone()).ToArray(); // the trainer's last ones
        model.Train();
        try
        {
            var first = Create(name, norm, steps: 5, seed: 7).Run(model, _fixture.Images, _fixture.Labels);
            var second = Create(name, norm, steps: 5, seed: 7).Run(model, _fixture.Images, _fixture.Labels);
            first.eq(second).all().item<bool>().Should().BeTrue("same seed, same output, bit for bit");
            model.IsTraining.Should().BeTrue("the attack restores the mode it found");
        }
        finally
        {
            model.Eval();
        }
        model.Network.parameters().Zip(weights, (p, w) => p.eq(w).all().item<bool>()).Should().OnlyContain(same => same);
        model.Network.parameters().Zip(gradients, (p, g) => g is null ? p.grad is null : p.grad is not null && p.grad.eq(g).all().item<bool>())
            .Should().OnlyContain(same => same, "attacks write no parameter gradients");
    }

    [Fact]
    public void Restarts_never_weaken_the_attack()
    {
        using var scope = torch.NewDisposeScope();
        var one = new ApgdCe(new ApgdCeOptions { Epsilon = 4.0 / 255.0, Steps = 5, Seed = 3 }).Run(_fixture.Model, _fixture.Images, _fixture.Labels);
        var three = new ApgdCe(new ApgdCeOptions { Epsilon = 4.0 / 255.0, Steps = 5, Restarts = 3, Seed = 3 }).Run(_fixture.Model, _fixture.Images, _fixture.Labels);
        _fixture.Accuracy(three).Should().BeLessThanOrEqualTo(_fixture.Accuracy(one));
    }

    [Fact]
    public void Definitions_build_the_papers_defaults_and_honour_the_knobs()
    {
        var ce = (ApgdCe)ApgdCe.Definition.Build(new AttackSettings());
        ce.Options.Should().BeEquivalentTo(new ApgdCeOptions());
        var t = (ApgdT)ApgdT.Definition.Build(new AttackSettings { Norm = Norm.L2, Steps = 7, Restarts = 2, Seed = 5 });
        t.Options.Should().BeEquivalentTo(new ApgdTOptions { Norm = Norm.L2, Epsilon = 0.5, Steps = 7, Restarts = 2, Seed = 5 });
        t.Options.TargetClasses.Should().Be(9);
        ApgdDlr.Definition.Build(new AttackSettings()).Name.Should().Be("apgd-dlr");
        FluentActions.Invoking(() => ApgdT.Definition.Build(new AttackSettings { Target = TargetSelection.Random }))
            .Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => ApgdCe.Definition.Build(new AttackSettings { Norm = Norm.L1 }))
            .Should().Throw<ArgumentOutOfRangeException>();
    }
}

[Collection(TrainedModelCollection.Name)]
public sealed class ApgdMemoryTests
{
    private readonly TrainedModelFixture _fixture;

    public ApgdMemoryTests(TrainedModelFixture fixture) => _fixture = fixture;

    /// <summary>APGD-CE that records how many tensors are alive each time the search evaluates its loss.</summary>
    private sealed class CountingApgd : Apgd<ApgdCeOptions>
    {
        public CountingApgd(ApgdCeOptions options) : base("counting-apgd", options) { }

        public List<long> LiveTensors { get; } = [];

        protected override Tensor Loss(Tensor logits, Tensor labels, Tensor? targets)
        {
            LiveTensors.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount);
            return AttackMath.CrossEntropy(logits, labels);
        }
    }

    [Fact]
    public void The_search_keeps_the_number_of_live_tensors_flat_over_the_iterations()
    {
        using var scope = torch.NewDisposeScope();
        // A tiny budget keeps every image in the search, so each step holds the same state.
        var attack = new CountingApgd(new ApgdCeOptions { Epsilon = 0.1 / 255.0, Steps = 30, Seed = 0 });
        attack.Run(_fixture.Model, _fixture.Images, _fixture.Labels);

        var perStep = attack.LiveTensors.Skip(2).ToArray(); // after the start and the first step
        perStep.Should().HaveCountGreaterThan(20);
        (perStep.Max() - perStep.Min()).Should().BeLessThanOrEqualTo(40, "state is replaced, not accumulated, step after step");
    }
}
