using FluentAssertions;
using Robustness.Attacks;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Robustness.Tests.Attacks;

public sealed class SquareScheduleTests
{
    [Fact]
    public void P_is_halved_on_the_papers_iterations_rescaled_to_the_budget()
    {
        SquareSchedule.Fraction(0, 10000, 0.8).Should().Be(0.8);
        SquareSchedule.Fraction(10, 10000, 0.8).Should().Be(0.8);
        SquareSchedule.Fraction(11, 10000, 0.8).Should().Be(0.4);
        SquareSchedule.Fraction(51, 10000, 0.8).Should().Be(0.2);
        SquareSchedule.Fraction(9999, 10000, 0.8).Should().Be(0.8 / 512);
        // 5,000 queries: iteration 6 is 12/10000 of the way, past the first halving.
        SquareSchedule.Fraction(5, 5000, 0.8).Should().Be(0.8);
        SquareSchedule.Fraction(6, 5000, 0.8).Should().Be(0.4);
    }

    [Fact]
    public void Square_sides_follow_p_and_fit_the_image()
    {
        SquareSchedule.LinfSide(0.8, 32, 32).Should().Be(29); // round(sqrt(0.8 * 1024)) = round(28.6)
        SquareSchedule.LinfSide(1e-6, 32, 32).Should().Be(1);
        SquareSchedule.LinfSide(1.0, 32, 32).Should().Be(32);
        SquareSchedule.L2Side(0.8, 32, 32).Should().Be(29);
        SquareSchedule.L2Side(0.1, 32, 32).Should().Be(11); // round(10.1) = 10, made odd
        SquareSchedule.L2Side(1e-6, 32, 32).Should().Be(3);
    }
}

[Collection(TrainedModelCollection.Name)]
public sealed class SquareTests
{
    // Square is forward-bound: a few hundred queries on half the fixture's batch keep the class quick.
    private const int Queries = 200;
    private const int Count = 32;
    private readonly TrainedModelFixture _fixture;
    private readonly Tensor _images;
    private readonly Tensor _labels;

    public SquareTests(TrainedModelFixture fixture)
    {
        _fixture = fixture;
        _images = fixture.Images.narrow(0, 0, Count);
        _labels = fixture.Labels.narrow(0, 0, Count);
    }

    private double Accuracy(Tensor images) => _fixture.Model.Predict(images).eq(_labels).to(ScalarType.Float32).mean().item<float>();

    private static Square Create(Norm norm, double? eps = null, int queries = Queries, int seed = 0) =>
        new(new SquareOptions { Norm = norm, Epsilon = eps ?? (norm == Norm.Linf ? 8.0 / 255.0 : 0.5), Queries = queries, Seed = seed });

    [Theory]
    [InlineData(Norm.Linf)]
    [InlineData(Norm.L2)]
    public void Stays_within_budget_and_box_and_lowers_accuracy(Norm norm)
    {
        using var scope = torch.NewDisposeScope();
        var attack = Create(norm);
        var adversarial = attack.Run(_fixture.Model, _images, _labels);

        AttackMath.PerSampleNorm(adversarial - _images, norm).max().item<float>().Should().BeLessThanOrEqualTo((float)(attack.Options.Epsilon + 1e-6));
        adversarial.min().item<float>().Should().BeGreaterThanOrEqualTo(0f);
        adversarial.max().item<float>().Should().BeLessThanOrEqualTo(1f);
        Accuracy(adversarial).Should().BeLessThan(Accuracy(_images));
    }

    [Fact]
    public void Never_computes_a_gradient_and_counts_its_queries()
    {
        using var scope = torch.NewDisposeScope();
        var (guarded, probe) = QueryCountingNetwork.Around(_fixture.Model);
        foreach (var norm in new[] { Norm.Linf, Norm.L2 })
        {
            var attack = Create(norm, queries: 50);
            long before = probe.Images;
            var adversarial = attack.Run(guarded, _images, _labels);
            var counts = attack.LastQueryCounts!;

            counts.Should().HaveCount(Count).And.OnlyContain(q => q >= 0 && q <= 50);
            // Every image the network saw is the clean check (one per image) or a counted query.
            (probe.Images - before).Should().Be(Count + counts.Sum());
            // An image stops being queried once fooled; those never fooled used the whole budget.
            var correct = _fixture.Model.Predict(adversarial).eq(_labels).cpu().data<bool>().ToArray();
            for (int i = 0; i < correct.Length; i++)
                if (correct[i]) counts[i].Should().Be(50, $"image {i} is still classified correctly");
            counts.Should().Contain(q => q < 50, "some images are fooled before the budget runs out");
        }
        probe.Calls.Should().BeGreaterThan(0);
        probe.CallsWithGradients.Should().Be(0, "Square is black-box: every query runs without autograd");
    }

    [Fact]
    public void The_gradient_probe_does_see_a_white_box_attack()
    {
        // The check above is only worth something if the probe notices gradients when they happen.
        using var scope = torch.NewDisposeScope();
        var (guarded, probe) = QueryCountingNetwork.Around(_fixture.Model);
        new ApgdCe(new ApgdCeOptions { Steps = 2 }).Run(guarded, _images, _labels);
        probe.CallsWithGradients.Should().BeGreaterThan(0);
    }

    [Fact]
    public void Is_black_box()
    {
        Create(Norm.Linf).IsBlackBox.Should().BeTrue();
        Square.Definition.IsBlackBox.Should().BeTrue();
    }

    [Fact]
    public void Zero_budget_returns_the_input()
    {
        using var scope = torch.NewDisposeScope();
        Create(Norm.Linf, eps: 0).Run(_fixture.Model, _images, _labels).eq(_images).all().item<bool>().Should().BeTrue();
    }

    [Theory]
    [InlineData(Norm.Linf)]
    [InlineData(Norm.L2)]
    public void Same_seed_gives_the_same_output_and_the_model_is_left_as_it_was(Norm norm)
    {
        using var scope = torch.NewDisposeScope();
        var model = _fixture.Model;
        var weights = model.Network.parameters().Select(p => p.detach().clone()).ToArray();
        model.Train();
        Tensor first, second, other;
        try
        {
            first = Create(norm, queries: 20, seed: 4).Run(model, _images, _labels);
            second = Create(norm, queries: 20, seed: 4).Run(model, _images, _labels);
            other = Create(norm, queries: 20, seed: 5).Run(model, _images, _labels);
            model.IsTraining.Should().BeTrue();
        }
        finally
        {
            model.Eval();
        }
        first.eq(second).all().item<bool>().Should().BeTrue("same seed, same output, bit for bit");
        first.eq(other).all().item<bool>().Should().BeFalse("another seed draws other squares");
        model.Network.parameters().Zip(weights, (p, w) => p.eq(w).all().item<bool>()).Should().OnlyContain(same => same);
    }

    [Fact]
    public void Targeted_mode_moves_images_towards_their_targets()
    {
        using var scope = torch.NewDisposeScope();
        var attack = new Square(new SquareOptions { Epsilon = 16.0 / 255.0, Queries = 100, Target = TargetSelection.Random, Seed = 2 });
        var adversarial = attack.Run(_fixture.Model, _images, _labels);
        using var generator = new Generator(2);
        var targets = TargetSelection.Random.Resolve(_fixture.Model, _images, _labels, generator)!;
        double before = _fixture.Model.Predict(_images).eq(targets).to(ScalarType.Float32).mean().item<float>();
        double after = _fixture.Model.Predict(adversarial).eq(targets).to(ScalarType.Float32).mean().item<float>();
        after.Should().BeGreaterThan(before + 0.25);
    }

    [Fact]
    public void Bad_options_raise_naming_the_option()
    {
        void Raises(Action create, string option) =>
            create.Should().Throw<ArgumentOutOfRangeException>().WithParameterName(option);

        Raises(() => new Square(new SquareOptions { Queries = 0 }), "Queries");
        Raises(() => new Square(new SquareOptions { PInit = 0 }), "PInit");
        Raises(() => new Square(new SquareOptions { PInit = 1.5 }), "PInit");
        Raises(() => new Square(new SquareOptions { Norm = Norm.L1 }), "Norm");
        Raises(() => new Square(new SquareOptions { Epsilon = double.NaN }), "Epsilon");
    }

    [Fact]
    public void Definition_builds_the_papers_defaults_and_honours_the_knobs()
    {
        var square = (Square)Square.Definition.Build(new AttackSettings());
        square.Options.Should().BeEquivalentTo(new SquareOptions());
        square.Options.Queries.Should().Be(5000);
        square.Options.PInit.Should().Be(0.8);
        var l2 = (Square)Square.Definition.Build(new AttackSettings { Norm = Norm.L2, Queries = 100, Seed = 3 });
        l2.Options.Should().BeEquivalentTo(new SquareOptions { Norm = Norm.L2, Epsilon = 0.5, Queries = 100, Seed = 3 });
    }
}
