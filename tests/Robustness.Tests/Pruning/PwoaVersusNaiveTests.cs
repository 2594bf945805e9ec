using FluentAssertions;
using Robustness.Attacks;
using Robustness.Attacks.Evaluation;
using Robustness.Data;
using Robustness.Models;
using Robustness.Pruning;
using Robustness.Training;
using Xunit;

namespace Robustness.Tests.Pruning;

/// <summary>
/// The comparison: a PGD-AT SmallCnn on the synthetic set, pruned 4x, keeps more PGD accuracy with PwoA
/// (clean data, distillation + HSIC) than with naive pruning (magnitude + clean fine-tuning) given the same number of
/// epochs. At this scale the gap is a few points, not the paper's tens: a short clean fine-tune barely moves a small
/// network away from its robust weights (naive pruning with half PwoA's epochs kept more PGD accuracy than PwoA when
/// we tried it), so the baseline gets PwoA's whole budget (6 ADMM + 6 retraining epochs = 12). Checked on seeds 1
/// and 2 (see the report of the branch that added it); the margin asserted is the smaller of the two gaps, halved.
/// </summary>
public class PwoaVersusNaiveTests
{
    private const int Seed = 1;

    [Fact]
    public void Pwoa_keeps_more_pgd_accuracy_than_naive_pruning_at_the_same_sparsity()
    {
        var sets = SyntheticImageSet.TrainTest(600, 300, Seed, size: 8, classes: 4);
        var augmentation = ComposedAugmentation.Cifar(padding: 1);
        const double eps = 8.0 / 255;
        using var teacher = Classifier.Create(new ModelSpec("small-cnn", 4, Width: 8, ImageSize: 8), ChannelStatistics.Of(sets.Train), sets.Train.ClassNames, seed: Seed);
        var training = new TrainingOptions { Epochs = 2, BatchSize = 32, LearningRate = 0.05, WeightDecay = 5e-4, Augmentation = augmentation, Seed = Seed };
        new Trainer(training).Train(teacher, sets.Train); // clean warm start: PGD-AT from scratch barely moves in a few hundred steps
        new Trainer(training with { Epochs = 6, Schedule = new CosineLearningRate(6) },
            new PgdAdversarialObjective(new PgdTrainingOptions { Epsilon = eps, Steps = 3, StepSize = 2.5 * eps / 3 })).Train(teacher, sets.Train);

        var pwoaOptions = PwoaOptions.FastCpu(0.75) with { BatchSize = 32, Augmentation = augmentation, Seed = Seed };
        var naiveOptions = MagnitudePruningOptions.FastCpu(0.75) with
        {
            BatchSize = 32, Augmentation = augmentation, Seed = Seed, Epochs = pwoaOptions.AdmmEpochs + pwoaOptions.RetrainEpochs,
        };
        var pwoa = new Pwoa(pwoaOptions).Prune(teacher, sets.Train);
        using var pwoaStudent = pwoa.Student;
        var naive = MagnitudePruner.Naive(naiveOptions).Prune(teacher, sets.Train);
        using var naiveStudent = naive.Student;

        var pgd = new Pgd(new PgdOptions { Epsilon = eps, Steps = 10, StepSize = eps / 4, Seed = 1 });
        double Robust(Classifier c) => new RobustnessEvaluation().Evaluate(c, sets.Test, [pgd]).Entries[0].RobustAccuracy;
        double teacherRobust = Robust(teacher), pwoaRobust = Robust(pwoaStudent), naiveRobust = Robust(naiveStudent);

        teacherRobust.Should().BeGreaterThan(0.4, "PGD-AT makes a robust teacher");
        pwoa.Sparsity.Overall.Should().BeApproximately(naive.Sparsity.Overall, 1e-9, "both prune the same tensors to the same sparsity");
        pwoaRobust.Should().BeGreaterThan(naiveRobust + MarginAsserted,
            $"PwoA distils the robust teacher (PwoA {pwoaRobust:P1}, naive {naiveRobust:P1}, teacher {teacherRobust:P1})");
    }

    private const double MarginAsserted = 0.015;
}
