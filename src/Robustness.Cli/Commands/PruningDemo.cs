using Robustness.Validation;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Robustness.Cli.Output;
using Robustness.Data;
using Robustness.IO;
using Robustness.Models;
using Robustness.Pruning;
using Robustness.Training;
using static TorchSharp.torch;

namespace Robustness.Cli.Commands;

/// <summary>
/// Sizes of the pruning demo. The defaults fit about two to three minutes on two CPU cores: a SmallCnn of width 8
/// PGD-AT trained on 2,000 synthetic 16x16 images, pruned 4x with PwoA (fast profile) and with naive pruning,
/// each evaluated with PGD-10 at 8/255 on 500 test images. The teacher gets two clean warm-up epochs, then six of
/// PGD-AT (3 steps); batch 32 throughout, so the few epochs still give a few hundred steps.
/// </summary>
public sealed record PruningDemoOptions
{
    /// <summary>Synthetic training images.</summary>
    public int TrainImages { get; init; } = 2000;

    /// <summary>Synthetic test images (all attacked).</summary>
    public int TestImages { get; init; } = 500;

    /// <summary>Image side in pixels.</summary>
    public int ImageSize { get; init; } = 16;

    /// <summary>SmallCnn width.</summary>
    public int Width { get; init; } = 8;

    /// <summary>Clean epochs before adversarial training (a warm start: PGD-AT from scratch barely moves in a few hundred steps).</summary>
    public int TeacherCleanEpochs { get; init; } = 2;

    /// <summary>Epochs of PGD adversarial training of the teacher (cosine learning rate).</summary>
    public int TeacherEpochs { get; init; } = 6;

    /// <summary>Images per step of the teacher's training and of both pruners.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Peak learning rate of the teacher's training.</summary>
    public double TeacherLearningRate { get; init; } = 0.05;

    /// <summary>Inner PGD steps of the teacher's adversarial training (step 2.5 eps / steps, Madry et al.'s rule).</summary>
    public int TeacherPgdSteps { get; init; } = 3;

    /// <summary>l-inf budget of training and evaluation.</summary>
    public double Epsilon { get; init; } = 8.0 / 255.0;

    /// <summary>Fraction of weights pruned per layer (4x = 0.75).</summary>
    public double Sparsity { get; init; } = 0.75;

    /// <summary>PwoA's options (the fast profile at <see cref="Sparsity"/> when null).</summary>
    public PwoaOptions? Pwoa { get; init; }

    /// <summary>Naive pruning's options (when null: the fast profile at <see cref="Sparsity"/> with PwoA's ADMM + retraining epochs).</summary>
    public MagnitudePruningOptions? Naive { get; init; }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first size out of range; returns this.</summary>
    public PruningDemoOptions Validate()
    {
        Require.AtLeast(TrainImages, 100, nameof(TrainImages));
        Require.AtLeast(TestImages, 10, nameof(TestImages));
        if (ImageSize is < 8 or > 64) throw new ArgumentOutOfRangeException(nameof(ImageSize), ImageSize, "ImageSize must be between 8 and 64.");
        if (Width is < 1 or > 256) throw new ArgumentOutOfRangeException(nameof(Width), Width, "Width must be between 1 and 256.");
        Require.AtLeast(TeacherCleanEpochs, 0, nameof(TeacherCleanEpochs));
        Require.AtLeast(BatchSize, 2, nameof(BatchSize));
        Require.Positive(TeacherLearningRate, nameof(TeacherLearningRate));
        Require.AtLeast(TeacherEpochs, 1, nameof(TeacherEpochs));
        Require.AtLeast(TeacherPgdSteps, 1, nameof(TeacherPgdSteps));
        Attacks.Budget.Check(Epsilon, nameof(Epsilon));
        Require.Sparsity(Sparsity, nameof(Sparsity));
        return this;
    }
}

/// <summary>What the pruning demo measured (also written to <c>pruning.json</c>).</summary>
/// <param name="Seed">The seed.</param>
/// <param name="TrainImages">Synthetic training images.</param>
/// <param name="TestImages">Synthetic test images.</param>
/// <param name="ImageSize">Image side.</param>
/// <param name="Width">SmallCnn width.</param>
/// <param name="TeacherTraining">How the teacher was trained.</param>
/// <param name="Teacher">The teacher's scores.</param>
/// <param name="Pwoa">PwoA's student.</param>
/// <param name="Naive">Naive pruning's student.</param>
/// <param name="TeacherSeconds">Wall time of the teacher's adversarial training.</param>
/// <param name="PwoaSeconds">Wall time of PwoA.</param>
/// <param name="NaiveSeconds">Wall time of naive pruning.</param>
/// <param name="TotalSeconds">Wall time of the whole demo part.</param>
/// <param name="ReportPath">Where pruning.json was written.</param>
public sealed record PruningDemoResult(int Seed, int TrainImages, int TestImages, int ImageSize, int Width, string TeacherTraining,
    ModelScores Teacher, ModelScores Pwoa, ModelScores Naive, double TeacherSeconds, double PwoaSeconds, double NaiveSeconds, double TotalSeconds,
    string ReportPath);

/// <summary>
/// The pruning part of <c>robustness demo</c>: PGD-AT a SmallCnn on the synthetic set (the robust teacher), prune it
/// with PwoA (fast profile, clean data only) and with naive pruning (magnitude + clean fine-tuning) at the same
/// sparsity, and print teacher / PwoA / naive: sparsity, clean accuracy, PGD-10 accuracy. The models and
/// <c>pruning.json</c> go to the folder.
/// </summary>
public sealed class PruningDemo(PruningDemoOptions? options = null)
{
    /// <summary>The demo's sizes.</summary>
    public PruningDemoOptions Options { get; } = (options ?? new PruningDemoOptions()).Validate();

    /// <summary>Runs the demo part; progress and the table go to <paramref name="output"/>.</summary>
    public PruningDemoResult Run(string folder, int seed, Device device, TextWriter output, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(output);
        Require.AtLeast(seed, 0, nameof(seed));
        var o = Options;
        var c = CultureInfo.InvariantCulture;
        var total = Stopwatch.StartNew();
        Directory.CreateDirectory(folder);
        var sets = SyntheticImageSet.TrainTest(o.TrainImages, o.TestImages, seed, o.ImageSize);
        output.WriteLine(string.Create(c,
            $"Pruning demo: synthetic data ({o.TrainImages} train / {o.TestImages} test, {o.ImageSize}x{o.ImageSize}), SmallCnn width {o.Width}, sparsity {o.Sparsity:0.####}, device {device.type}, seed {seed}."));

        // Step 1: the robust teacher (PGD adversarial training).
        var spec = new ModelSpec("small-cnn", sets.Train.ClassNames.Count, o.Width, ImageSize: o.ImageSize);
        using var teacher = Classifier.Create(spec, ChannelStatistics.Of(sets.Train), sets.Train.ClassNames, device, seed);
        var objective = new PgdAdversarialObjective(PgdAdversarialObjective.MadryDefaults with { Epsilon = o.Epsilon, Steps = o.TeacherPgdSteps, StepSize = 2.5 * o.Epsilon / o.TeacherPgdSteps });
        var training = new TrainingOptions
        {
            Epochs = o.TeacherEpochs,
            BatchSize = o.BatchSize,
            LearningRate = o.TeacherLearningRate,
            WeightDecay = 5e-4,
            Schedule = new CosineLearningRate(o.TeacherEpochs),
            Augmentation = ComposedAugmentation.Cifar(padding: Math.Max(1, o.ImageSize / 8)),
            Seed = seed,
            Device = device,
        };
        var clock = Stopwatch.StartNew();
        var display = new TrainingProgressDisplay(output);
        if (o.TeacherCleanEpochs > 0)
        {
            var warmUp = training with { Epochs = o.TeacherCleanEpochs, Schedule = LearningRateSchedules.Constant };
            display.Run(string.Create(c, $"Pruning demo 1/3: teacher ({teacher.ParameterCount:N0} parameters), {o.TeacherCleanEpochs} clean warm-up epochs"),
                progress => new Trainer(warmUp).Train(teacher, sets.Train, null, null, progress, ct));
        }
        display.Run(string.Create(c, $"Pruning demo 1/3: teacher, {o.TeacherEpochs} epochs of {objective}"),
            progress => new Trainer(training, objective).Train(teacher, sets.Train, null, null, progress, ct));
        double teacherSeconds = clock.Elapsed.TotalSeconds;
        teacher.Eval();
        teacher.Save(Path.Combine(folder, "robust-teacher.safetensors"));

        // Steps 2 and 3: the two pruners at the same sparsity, on clean training images only.
        // Both fine-tune with the same crop (scaled to the image size) and flip as the teacher.
        var pwoa = new Pwoa(o.Pwoa ?? PwoaOptions.FastCpu(o.Sparsity) with { Seed = seed, BatchSize = o.BatchSize, Augmentation = training.Augmentation });
        // Naive pruning gets PwoA's whole budget (ADMM + retraining epochs): with fewer epochs a small network barely
        // leaves its robust weights, and the comparison would measure the budget rather than the objective.
        var naive = MagnitudePruner.Naive(o.Naive ?? MagnitudePruningOptions.FastCpu(o.Sparsity) with
        {
            Seed = seed, BatchSize = o.BatchSize, Augmentation = training.Augmentation, Epochs = pwoa.Options.AdmmEpochs + pwoa.Options.RetrainEpochs,
        });
        var (pwoaStudent, pwoaSeconds) = Prune(pwoa, teacher, sets.Train, folder, "Pruning demo 2/3", output, ct);
        using var pwoaModel = pwoaStudent.Student;
        var (naiveStudent, naiveSeconds) = Prune(naive, teacher, sets.Train, folder, "Pruning demo 3/3", output, ct);
        using var naiveModel = naiveStudent.Student;

        var evaluation = new PrunedModelEvaluation(o.Epsilon, o.TestImages, autoAttack: false, seed);
        output.WriteLine(string.Create(c, $"Evaluating on {sets.Test.Count} test images: clean accuracy and {evaluation.Pgd}."));
        var rows = new[]
        {
            evaluation.Evaluate("teacher (PGD-AT)", teacher, SparsityReport.Measure(teacher).Overall, sets.Test, sets.Test, cancellationToken: ct),
            evaluation.Evaluate("PwoA", pwoaModel, pwoaStudent.Sparsity.Overall, sets.Test, sets.Test, cancellationToken: ct),
            evaluation.Evaluate("naive", naiveModel, naiveStudent.Sparsity.Overall, sets.Test, sets.Test, cancellationToken: ct),
        };
        output.Write(PrunedModelEvaluation.Table(rows));

        string reportPath = Path.Combine(folder, "pruning.json");
        var result = new PruningDemoResult(seed, o.TrainImages, o.TestImages, o.ImageSize, o.Width,
            string.Create(c, $"{o.TeacherCleanEpochs} clean epochs at lr {o.TeacherLearningRate}, then {o.TeacherEpochs} epochs of {objective} with a cosine from lr {o.TeacherLearningRate}; SGD momentum 0.9, weight decay 5e-4, batch {o.BatchSize}"),
            rows[0], rows[1], rows[2], teacherSeconds, pwoaSeconds, naiveSeconds, total.Elapsed.TotalSeconds, reportPath);
        AtomicFile.WriteAllText(reportPath, JsonSerializer.Serialize(result, ReportJson.Options));
        output.WriteLine(string.Create(c,
            $"Pruning demo done in {total.Elapsed:mm\\:ss} (teacher {teacherSeconds:F0} s, PwoA {pwoaSeconds:F0} s, naive {naiveSeconds:F0} s); report: {reportPath}"));
        return result;
    }

    private static (PruningResult Result, double Seconds) Prune(IPruner pruner, Classifier teacher, ImageSet train, string folder, string step,
        TextWriter output, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var result = new PruningProgressDisplay(output).Run($"{step}: {pruner}", progress => pruner.Prune(teacher, train, progress, ct));
        result.Student.Save(Path.Combine(folder, $"pruned-{pruner.Name}.safetensors"));
        return (result, clock.Elapsed.TotalSeconds);
    }
}
