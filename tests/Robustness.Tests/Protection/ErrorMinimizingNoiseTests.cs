using FluentAssertions;
using Robustness.Data;
using Robustness.Models;
using Robustness.Protection;
using Robustness.Training;
using Robustness.Tests.Training;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Robustness.Tests.Protection;

public class ErrorMinimizingNoiseTests(ITestOutputHelper output)
{
    // 4 classes of 12x12 synthetic patterns: small enough that a width-4 surrogate runs a round in well under a second.
    private static readonly ImageSet Small = SyntheticImageSet.Generate(96, seed: 21, size: 12, classes: 4);

    private static ErrorMinimizingNoiseOptions Quick(double epsilon = 16.0 / 255, int seed = 5) => new()
    {
        Epsilon = epsilon,
        Seed = seed,
        PgdSteps = 5,
        TrainSteps = 5,
        BatchSize = 32,
        MaxRounds = 3,
        Surrogate = new ModelSpec("small-cnn", Width: 4),
    };

    private static byte[] ProtectAll(IDataProtector protector, ImageSet clean, int batchSize = 40) =>
        DataProtection.Protect(protector, clean, batchSize).Pixels.ToArray();

    [Fact]
    public void The_stored_delta_stays_within_the_budget_and_eps_zero_changes_nothing()
    {
        const double eps = 8.0 / 255;
        var stored = ProtectAll(new ErrorMinimizingNoise(Quick(eps) with { RandomStart = true }), Small);
        var clean = Small.Pixels.ToArray();

        int levels = ProtectionQuantizer.Levels(eps);
        var deltas = stored.Zip(clean, (s, c) => Math.Abs(s - c)).ToArray();
        deltas.Max().Should().Be(levels, "the noise uses the whole budget somewhere but never more");
        deltas.Count(d => d > 0).Should().BeGreaterThan(clean.Length / 2, "almost every value is perturbed");

        ProtectAll(new ErrorMinimizingNoise(Quick(0) with { RandomStart = true }), Small).Should().Equal(clean);

        // From the default zero start, one round of 5 steps of eps/10 reaches at most half the budget.
        var fromZero = ProtectAll(new ErrorMinimizingNoise(Quick(eps) with { MaxRounds = 1 }), Small).Zip(clean, (s, c) => Math.Abs(s - c)).Max();
        fromZero.Should().BeInRange(1, (levels + 1) / 2);
    }

    [Fact]
    public void The_loop_stops_once_the_surrogate_fits_the_perturbed_data_and_the_cap_ends_it_otherwise()
    {
        var reachable = new ErrorMinimizingNoise(Quick() with { StopAccuracy = 0.9, MaxRounds = 30 });
        using (var session = reachable.PrepareSession(Small))
        {
            session.Converged.Should().BeTrue();
            session.Rounds.Should().BeLessThan(30);
            session.SurrogateAccuracy.Should().BeGreaterThan(0.9);
        }

        // Accuracy can never exceed 1, so only the cap can stop this run.
        var capped = new ErrorMinimizingNoise(Quick() with { StopAccuracy = 1.0, MaxRounds = 2 });
        using (var session = capped.PrepareSession(Small))
        {
            session.Converged.Should().BeFalse();
            session.Rounds.Should().Be(2);
        }
    }

    [Fact]
    public void The_noise_minimises_error_a_fresh_model_fits_the_protected_data_faster_than_the_clean_data()
    {
        // The defining behaviour of unlearnable examples: the noise is a shortcut that makes the training loss small.
        // (Observed: final loss about 0.15 on protected data against 0.45 on clean data.)
        var options = new TrainingOptions { Epochs = 4, BatchSize = 32, LearningRate = 0.05, Schedule = new CosineLearningRate(4), Seed = 1 };

        double FinalLoss(ImageSet data)
        {
            using var model = Classifier.Create(ProtectedSyntheticData.VictimSpec, classNames: data.ClassNames, seed: 7);
            return new Trainer(options).Train(model, data).Final.TrainLoss;
        }

        double cleanLoss = FinalLoss(ProtectedSyntheticData.Sets.Train), protectedLoss = FinalLoss(ProtectedSyntheticData.TrainWithStrongNoise);
        output.WriteLine($"final training loss: clean {cleanLoss:F4}, protected {protectedLoss:F4}");
        protectedLoss.Should().BeLessThan(0.7 * cleanLoss, $"clean loss {cleanLoss:F3}, protected loss {protectedLoss:F3}");
    }

    [Fact]
    public void The_same_seed_gives_the_same_bytes_and_another_seed_other_bytes()
    {
        var a = ProtectAll(new ErrorMinimizingNoise(Quick(seed: 3)), Small, batchSize: 40);
        var b = ProtectAll(new ErrorMinimizingNoise(Quick(seed: 3)), Small, batchSize: 17);
        var c = ProtectAll(new ErrorMinimizingNoise(Quick(seed: 4)), Small);
        var shuffled = ProtectAll(new ErrorMinimizingNoise(Quick(seed: 3) with { ShuffleBatches = true, RandomStart = true }), Small);
        ProtectAll(new ErrorMinimizingNoise(Quick(seed: 3) with { ShuffleBatches = true, RandomStart = true }), Small).Should().Equal(shuffled);

        b.Should().Equal(a, "the noise is learnt once in Prepare; the protect batches only look it up");
        c.Should().NotEqual(a);
    }

    [Fact]
    public void Preparation_reports_progress_and_the_session_checks_its_batches()
    {
        var reports = new List<ProtectionProgress>();
        var options = Quick() with { StopAccuracy = 1.0, MaxRounds = 2 };
        var protector = new ErrorMinimizingNoise(options);
        using var session = protector.Prepare(Small, new SyncProgress<ProtectionProgress>(reports.Add));

        reports.Should().HaveCount(2 * 3, "two rounds of three PGD batches (32 + 32 + 32)");
        reports.Should().OnlyContain(r => r.Stage == "prepare" && r.Total == 2 * Small.Count);
        reports[^1].Done.Should().Be(2 * Small.Count);

        using var scope = torch.NewDisposeScope();
        using var outside = new ImageBatch(torch.zeros(1, 3, 12, 12), torch.zeros(1, ScalarType.Int64), [Small.Count]);
        var act = () => session.Protect(outside);
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage($"*{Small.Count}*");
        using var wrongSize = new ImageBatch(torch.zeros(1, 3, 8, 8), torch.zeros(1, ScalarType.Int64), [0]);
        var wrong = () => session.Protect(wrongSize);
        wrong.Should().Throw<ArgumentException>().WithMessage("*12, 12*");
    }

    [Fact]
    public void The_surrogate_is_the_protectors_own_and_the_catalogue_builds_it_from_settings()
    {
        BuiltInProtectors.All.Should().Contain(ErrorMinimizingNoise.Definition);
        var definition = BuiltInProtectors.Get("error-minimizing");
        definition.NeedsCheckpoints.Should().BeFalse();
        definition.Description.Should().Contain("ICLR 2021");

        var settings = new ProtectorSettings { Epsilon = 4.0 / 255, Seed = 9, Steps = 7, StepSize = 1.0 / 255, SurrogateSpec = new ModelSpec("small-cnn", Width: 4) };
        var built = definition.Build(settings);
        definition.Ignored(settings with { Iterations = 30 }).Should().Equal(["Iterations"], "SEP's T is not error-minimising noise's PGD steps");
        var emn = built.Should().BeOfType<ErrorMinimizingNoise>().Subject;
        emn.Name.Should().Be("error-minimizing");
        emn.Epsilon.Should().Be(4.0 / 255);
        emn.Options.Should().Match<ErrorMinimizingNoiseOptions>(o => o.Seed == 9 && o.PgdSteps == 7 && o.EffectiveStepSize == 1.0 / 255 && o.Surrogate!.Width == 4);

        var defaults = new ErrorMinimizingNoiseOptions();
        defaults.Should().Match<ErrorMinimizingNoiseOptions>(o => o.Epsilon == 8.0 / 255 && o.PgdSteps == 20 && o.TrainSteps == 10
            && o.StopAccuracy == 0.99 && o.BatchSize == 512 && !o.RandomStart && !o.ShuffleBatches && o.LearningRate == 0.1 && o.Momentum == 0.9 && o.WeightDecay == 5e-4);
        defaults.EffectiveStepSize.Should().BeApproximately(0.8 / 255, 1e-12);
    }

    [Fact]
    public void The_surrogate_may_be_a_module_family_from_the_hosts_registry()
    {
        var family = new DelegateModelFamily("test-surrogate", "test", spec => new SmallCnn(spec.Classes, 4, spec.InputChannels));
        var set = SyntheticImageSet.Generate(32, seed: 3, size: 8, classes: 4);
        var options = new ErrorMinimizingNoiseOptions
        {
            Epsilon = 4.0 / 255, Surrogate = new ModelSpec("test-surrogate"), MaxRounds = 1, TrainSteps = 1, PgdSteps = 1, BatchSize = 16,
        };

        using (var session = new ErrorMinimizingNoise(options with { Families = ModelFamilyRegistry.BuiltIn.With(family) }).PrepareSession(set))
            session.Rounds.Should().Be(1);
        var unknown = () => new ErrorMinimizingNoise(options).PrepareSession(set);
        unknown.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*Unknown architecture 'test-surrogate'*");
    }

    public static TheoryData<string, ErrorMinimizingNoiseOptions> BadOptions => new()
    {
        { "Epsilon", new ErrorMinimizingNoiseOptions { Epsilon = -0.1 } },
        { "Seed", new ErrorMinimizingNoiseOptions { Seed = -1 } },
        { "PgdSteps", new ErrorMinimizingNoiseOptions { PgdSteps = 0 } },
        { "StepSize", new ErrorMinimizingNoiseOptions { StepSize = 0 } },
        { "TrainSteps", new ErrorMinimizingNoiseOptions { TrainSteps = 0 } },
        { "StopAccuracy", new ErrorMinimizingNoiseOptions { StopAccuracy = 1.5 } },
        { "MaxRounds", new ErrorMinimizingNoiseOptions { MaxRounds = 0 } },
        { "BatchSize", new ErrorMinimizingNoiseOptions { BatchSize = 0 } },
        { "LearningRate", new ErrorMinimizingNoiseOptions { LearningRate = 0 } },
        { "Momentum", new ErrorMinimizingNoiseOptions { Momentum = 1 } },
        { "WeightDecay", new ErrorMinimizingNoiseOptions { WeightDecay = double.NaN } },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void Bad_options_raise_an_error_naming_the_option(string name, ErrorMinimizingNoiseOptions options)
    {
        var act = () => new ErrorMinimizingNoise(options);
        act.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be(name);
    }

    [Fact]
    public void A_collection_of_one_image_is_refused()
    {
        var one = Small.Subset([0]);
        var act = () => new ErrorMinimizingNoise(Quick()).Prepare(one);
        act.Should().Throw<ArgumentException>().WithParameterName("clean");
    }
}
