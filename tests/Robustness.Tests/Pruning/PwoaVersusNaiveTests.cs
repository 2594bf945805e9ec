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
/// A PGD-AT SmallCnn on the synthetic set, pruned 4x by PwoA (clean data, distillation + HSIC, no adversarial example)
/// and naively (magnitude + clean fine-tuning) with the same epochs (6 ADMM + 6 retraining = 12). At this scale the two
/// are within noise of each other: PGD-10 accuracy on 300 test images, teacher / PwoA / naive, measured with oneDNN's
/// AVX2 kernels and with its AVX-512 ones (issue 11), seed 1: 62.0 / 42.0 / 42.7 and 58.0 / 41.3 / 38.0; seed 2:
/// 41.0 / 40.0 / 32.7 and 41.7 / 39.7 / 34.3; seed 3: 65.7 / 52.3 / 55.3 and 65.7 / 52.3 / 51.7 (at 16x the sign of the
/// gap also changes with the seed). A test that PwoA beats naive pruning here held on one set of kernels only, so it
/// was a coin toss, not a check; that comparison is measured where it is large, in the CIFAR-10 table
/// (benchmarks/results/pwoa-cifar10-cpu.md: at 2x, PGD-10 26.2% for PwoA vs 14.0% naive). What holds at this scale on
/// every seed and both kernel sets, and is asserted: PwoA reaches the same sparsity as magnitude pruning, keeps at least
/// 60% of the teacher's PGD accuracy (68-98% measured), and is no worse than naive pruning beyond the noise of 300 images
/// (5 points; at worst 3.0 below, measured).
/// </summary>
public class PwoaVersusNaiveTests
{
    private const int Seed = 1;

    [Fact]
    public void Pwoa_keeps_most_of_the_teachers_pgd_accuracy_and_is_no_worse_than_naive_pruning()
    {
        var sets = SyntheticImageSet.TrainTest(600, 300, Seed, size: 8, classes: 4);
        var augmentation = ComposedAugmentation.Cifar(padding: 1);
        const double eps = 8.0 / 255;
        using var teacher = Classifier.Create(new ModelSpec("small-cnn", 4, Width: 8, ImageSize: 8), ChannelStatistics.Of(sets.Train), sets.Train.ClassNames, seed: Seed);
        var training = new TrainingOptions { Epochs = 2, BatchSize = 32, LearningRate = 0.05, WeightDecay = 5e-4, Augmentation = augmentation, Seed = Seed };
        new Trainer(training).Train(teacher, sets.Train); // clean warm start: PGD-AT from scratch barely moves in a few hundred steps
        new Trainer(training with { Epochs = 6, Schedule = new CosineLearningRate(6) },
            new PgdAdversarialObjective(PgdAdversarialObjective.MadryDefaults with { Epsilon = eps, Steps = 3, StepSize = 2.5 * eps / 3 })).Train(teacher, sets.Train);

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
        string measured = $"PwoA {pwoaRobust:P1}, naive {naiveRobust:P1}, teacher {teacherRobust:P1}";
        pwoaRobust.Should().BeGreaterThanOrEqualTo(0.6 * teacherRobust, $"PwoA distils the robust teacher ({measured})");
        pwoaRobust.Should().BeGreaterThanOrEqualTo(naiveRobust - NoiseOf300Images, $"PwoA is not worse than naive pruning ({measured})");
    }

    // About 1.5 standard errors of a difference of two accuracies near 40% on 300 images each.
    private const double NoiseOf300Images = 0.05;
}
