// Sample: prune a robust model without adversarial examples (PwoA, Jian et al., 2022). A SmallCnn teacher is made
// robust with PGD adversarial training (PgdAdversarialObjective, after a clean warm-up), then Pwoa prunes a copy of it
// on clean images only (self-distillation from the teacher + HSIC + ADMM, then masked retraining; PwoaOptions.FastCpu)
// and PrunedModelEvaluation measures teacher and student the same way: sparsity, clean accuracy, PGD-10 accuracy at
// 8/255. The teacher and the pruned student are saved as model files.
//
// Usage:
//   dotnet run -c Release --project samples/PrunePwoa [-- TRAIN_DIR TEST_DIR] [--sparsity S] [--out DIR]
//     Without folders: the built-in synthetic set, 2,000 training and 500 test images of 16x16 (the sizes of
//     `robustness demo --with-pruning`), a SmallCnn of width 8, 2 clean + 6 PGD-AT epochs (3 steps), PwoA's fast
//     profile at S = 0.75 (4x): a few minutes on 2 cores. With two class-folder trees of square images (e.g. CIFAR-10's
//     train and test) the same recipe runs on them (much longer). Models go to DIR (default ./pwoa-sample).
//   dotnet run -c Release --project samples/PrunePwoa -- --smoke
//     256 synthetic 16x16 images, width 4, 1 clean + 1 PGD-AT epoch, 1 ADMM + 1 retraining epoch: a few seconds.
using System.Diagnostics;
using System.Globalization;
using Robustness;
using Robustness.Attacks;
using Robustness.Data;
using Robustness.Models;
using Robustness.Pruning;
using Robustness.Training;

var ci = CultureInfo.InvariantCulture;
bool smoke = args.Contains("--smoke");
const int seed = 0;
double epsilon = Budget.Parse("8/255");
double sparsity = 0.75;
string outFolder = "pwoa-sample";
string? smokeFolder = null;
ImageSet train, test;
int width = 8, cleanEpochs = 2, adversarialEpochs = 6, pgdSteps = 3, batchSize = 32;
if (smoke)
{
    smokeFolder = Directory.CreateTempSubdirectory("robustness-pwoa-").FullName;
    outFolder = smokeFolder;
    var sets = SyntheticImageSet.TrainTest(trainCount: 256, testCount: 64, seed: seed, size: 16, classes: 4);
    (train, test) = (sets.Train, sets.Test);
    (width, cleanEpochs, adversarialEpochs, pgdSteps) = (4, 1, 1, 2);
    // Tiny tensors: one libtorch thread is fastest and keeps the run short on a busy machine (after the library's
    // first call, so its kernel guard has set oneDNN up).
    TorchSharp.torch.set_num_threads(1);
}
else
{
    var positional = new List<string>();
    for (int i = 0; i < args.Length; i++)
    {
        if (args[i] == "--sparsity" && i + 1 < args.Length && double.TryParse(args[i + 1], ci, out double s) && s is > 0 and < 1) { sparsity = s; i++; }
        else if (args[i] == "--out" && i + 1 < args.Length) outFolder = args[++i];
        else if (args[i].StartsWith("--", StringComparison.Ordinal)) return Usage($"unknown option or bad value: {args[i]}");
        else positional.Add(args[i]);
    }
    if (positional.Count == 0)
    {
        var sets = SyntheticImageSet.TrainTest(trainCount: 2000, testCount: 500, seed: seed, size: 16);
        (train, test) = (sets.Train, sets.Test);
    }
    else if (positional.Count == 2)
    {
        var read = ImageFolderReader.Read(positional[0]);
        foreach (var error in read.Errors) Console.Error.WriteLine($"skipped {error.RelativePath}: {error.Message}");
        train = read.Images;
        if (train.Height != train.Width) return Usage($"square images needed; these are {train.Height}x{train.Width}");
        test = ImageFolderReader.Read(positional[1], new ImageFolderOptions { Size = SizePolicy.Require(train.Height, train.Width) })
            .Images.AlignClasses(train.ClassNames);
    }
    else
    {
        return Usage("give TRAIN_DIR and TEST_DIR, or nothing (synthetic data), or --smoke");
    }
}

try
{
    Directory.CreateDirectory(outFolder);
    int size = train.Height;
    var augmentation = ComposedAugmentation.Cifar(padding: Math.Max(1, size / 8));

    // Step 1: the robust teacher. A clean warm-up, then PGD-AT (Madry et al.; step 2.5 eps / steps).
    var spec = new ModelSpec("small-cnn", train.ClassNames.Count, width, ImageSize: size);
    using var teacher = Classifier.Create(spec, ChannelStatistics.Of(train), train.ClassNames, seed: seed);
    var training = new TrainingOptions
    {
        Epochs = adversarialEpochs,
        BatchSize = batchSize,
        LearningRate = 0.05,
        WeightDecay = 5e-4,
        Schedule = new CosineLearningRate(adversarialEpochs),
        Augmentation = augmentation,
        Seed = seed,
    };
    var objective = new PgdAdversarialObjective(PgdAdversarialObjective.MadryDefaults with
    {
        Epsilon = epsilon, Steps = pgdSteps, StepSize = 2.5 * epsilon / pgdSteps,
    });
    var clock = Stopwatch.StartNew();
    var epochLines = new SyncProgress<TrainingProgress>(p =>
    {
        if (p.Batch == p.BatchesPerEpoch) Console.WriteLine(string.Create(ci, $"  epoch {p.Epoch + 1}/{p.Epochs} loss {p.Loss:F3}"));
    });
    Console.WriteLine(string.Create(ci, $"Teacher: {spec.Architecture} w{width} ({teacher.ParameterCount:N0} parameters) on {train.Count} images of {size}x{size}"));
    Console.WriteLine(string.Create(ci, $" {cleanEpochs} clean warm-up epoch(s)"));
    new Trainer(training with { Epochs = cleanEpochs, Schedule = LearningRateSchedules.Constant }).Train(teacher, train, progress: epochLines);
    Console.WriteLine(string.Create(ci, $" {adversarialEpochs} epoch(s) of {objective}"));
    new Trainer(training, objective).Train(teacher, train, progress: epochLines);
    teacher.Eval();
    teacher.Save(Path.Combine(outFolder, "robust-teacher.safetensors"));
    Console.WriteLine(string.Create(ci, $" teacher trained in {clock.Elapsed:mm\\:ss}"));

    // Step 2: PwoA on clean images only: no adversarial example is crafted while pruning.
    var options = PwoaOptions.FastCpu(sparsity) with { Seed = seed, BatchSize = batchSize, Augmentation = augmentation };
    if (smoke) options = options with { AdmmEpochs = 1, RetrainEpochs = 1, Admm = options.Admm with { CycleEpochs = 1 } };
    var pwoa = new Pwoa(options);
    Console.WriteLine($"Pruning: {pwoa}");
    clock.Restart();
    var pruned = pwoa.Prune(teacher, train, new SyncProgress<PruningProgress>(p =>
    {
        if (p.Batch == p.Batches) Console.WriteLine(string.Create(ci, $"  {p.Phase} epoch {p.Epoch + 1}/{p.Epochs} loss {p.Loss:F4}"));
    }));
    using var student = pruned.Student;
    student.Save(Path.Combine(outFolder, "pruned-pwoa.safetensors"));
    Console.WriteLine(string.Create(ci, $" pruned in {clock.Elapsed:mm\\:ss}; overall sparsity {pruned.Sparsity.Overall:P2}"));

    // Step 3: the same protocol for both: clean accuracy on the test set, PGD-10 at 8/255 on (up to) 500 test images.
    var evaluation = new PrunedModelEvaluation(epsilon, attackImages: 500, autoAttack: false, seed);
    var attacked = evaluation.AttackSubset(test);
    Console.WriteLine(string.Create(ci, $"Evaluating on {test.Count} test images (clean) and {attacked.Count} attacked with {evaluation.Pgd}"));
    var rows = new[]
    {
        evaluation.Evaluate("teacher (PGD-AT)", teacher, SparsityReport.Measure(teacher).Overall, test, attacked),
        evaluation.Evaluate("PwoA student", student, pruned.Sparsity.Overall, test, attacked),
    };
    Console.Write(PrunedModelEvaluation.Table(rows));
    if (!smoke) Console.WriteLine($"Models: {Path.GetFullPath(outFolder)}");
    return 0;
}
finally
{
    if (smokeFolder is not null) Directory.Delete(smokeFolder, recursive: true);
}

static int Usage(string problem)
{
    Console.Error.WriteLine($"error: {problem}");
    Console.Error.WriteLine("usage: PrunePwoa [TRAIN_DIR TEST_DIR] [--sparsity S] [--out DIR] | --smoke");
    return 2;
}

/// <summary>An <see cref="IProgress{T}"/> that reports on the calling thread.</summary>
sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
