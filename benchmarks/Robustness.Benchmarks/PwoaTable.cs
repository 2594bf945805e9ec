using Robustness.Hosting;
using System.Diagnostics;
using System.Globalization;
using Robustness.Attacks;
using Robustness.Attacks.Evaluation;
using Robustness.Data;
using Robustness.Pruning;
using Robustness.Runtime;
using Robustness.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Benchmarks;

/// <summary>
/// Issue 5's benchmark: a robust teacher (saved by <c>robustness train --adversarial pgd</c>) pruned at each sparsity
/// with each method (PwoA, naive magnitude pruning, adversarial pruning), each built by name from the pruning catalogue
/// (<see cref="BuiltInPruners"/>, <see cref="PrunerSettings"/>), as <c>robustness prune</c> builds them. Per row: wall
/// time per phase and per epoch, true sparsity per layer, and clean / PGD-10 / AutoAttack-style accuracy on a
/// class-balanced subset of the test folder. The teacher is row one. Resumable by row: the results JSON is rewritten
/// after every stage and each student is saved in the work folder before it is evaluated, so a killed run started
/// again with the same settings skips finished rows and evaluates a saved student without pruning it again.
/// </summary>
public static class PwoaTable
{
    public static readonly string[] DefaultMethods = ["pwoa", "magnitude", "adversarial"];

    /// <summary>PGD-10's step, the paper's CIFAR setting (2/255 at eps 8/255), fixed whatever --eps is.</summary>
    public const double PgdStepSize = 2.0 / 255;

    /// <summary>Images per evaluation batch (clean, PGD and AutoAttack).</summary>
    public const int EvalBatchSize = 256;

    /// <summary>Options of one invocation (see Program.cs and benchmarks/README.md).</summary>
    public sealed record Invocation(string TeacherFile, string TrainFolder, string TestFolder, IReadOnlyList<string> Sparsities,
        IReadOnlyList<string> Methods, int? AdmmEpochs, int? RetrainEpochs, string Profile, int EvalImages, string Eps, bool AutoAttack,
        string DeviceName, int Threads, string Name, string WorkDir, string ResultsDir, string? TeacherRecipe);

    public static int Run(Invocation run)
    {
        // Every argument is checked before anything is loaded.
        if (!File.Exists(run.TeacherFile)) throw new ArgumentException($"--teacher file '{run.TeacherFile}' does not exist.", "--teacher");
        if (!Directory.Exists(run.TrainFolder)) throw new ArgumentException($"--train folder '{run.TrainFolder}' does not exist.", "--train");
        if (!Directory.Exists(run.TestFolder)) throw new ArgumentException($"--test folder '{run.TestFolder}' does not exist.", "--test");
        if (run.Profile is not ("paper" or "fast")) throw new ArgumentOutOfRangeException("--profile", run.Profile, "--profile must be paper or fast.");
        if (run.AdmmEpochs < 0) throw new ArgumentOutOfRangeException("--admm-epochs", run.AdmmEpochs, "--admm-epochs must be >= 0.");
        if (run.RetrainEpochs < 0) throw new ArgumentOutOfRangeException("--retrain-epochs", run.RetrainEpochs, "--retrain-epochs must be >= 0.");
        if (run.EvalImages < 0) throw new ArgumentOutOfRangeException("--eval-images", run.EvalImages, "--eval-images must be >= 0 (0 = the whole test folder).");
        if (run.Threads < 1) throw new ArgumentOutOfRangeException("--threads", run.Threads, "--threads must be >= 1.");
        if (run.Sparsities.Count == 0) throw new ArgumentOutOfRangeException("--sparsities", "(empty)", "--sparsities must name at least one sparsity (4x, 0.75 or 75%).");
        if (run.Methods.Count == 0) throw new ArgumentOutOfRangeException("--methods", "(empty)", "--methods must name at least one method.");
        var sparsities = run.Sparsities.Select(t => (Label: t.ToLowerInvariant(), Value: PrunerSettings.ParseSparsity(t, "--sparsities"))).ToArray();
        if (sparsities.Select(s => s.Value).Distinct().Count() != sparsities.Length)
            throw new ArgumentOutOfRangeException("--sparsities", string.Join(",", run.Sparsities), "--sparsities names the same sparsity twice.");
        var definitions = run.Methods.Select(m => Techniques.Catalog.Create(TechniqueFamily.Pruners, m)).ToArray(); // unknown names raise, listing the known ones
        if (definitions.Select(d => d.Name).Distinct().Count() != definitions.Length)
            throw new ArgumentOutOfRangeException("--methods", string.Join(",", run.Methods), "--methods names the same method twice.");
        double epsilon = Budget.Parse(run.Eps, "--eps");
        var profile = run.Profile == "fast" ? PruningProfile.Fast : PruningProfile.Paper;

        torch.set_num_threads(run.Threads);
        var device = TorchDevices.Resolve(run.DeviceName);
        Directory.CreateDirectory(run.ResultsDir);
        string jsonPath = Path.Combine(run.ResultsDir, run.Name + ".json");
        string markdownPath = Path.Combine(run.ResultsDir, run.Name + ".md");
        string work = Path.Combine(run.WorkDir, run.Name);
        Directory.CreateDirectory(work);

        // The teacher and the data.
        string teacherFile = Path.GetFullPath(run.TeacherFile);
        PwoaTableTeacher teacherInfo;
        using (var teacher = Classifier.Load(teacherFile))
        {
            teacherInfo = new PwoaTableTeacher(teacher.Spec.Architecture, teacher.Spec.Width, teacher.Spec.Depth, teacher.Spec.WidenFactor,
                teacher.Spec.ImageSize, teacher.Classes, teacher.ParameterCount, teacher.ClassNames.ToArray(),
                teacher.Normalization.Mean.ToArray(), teacher.Normalization.Std.ToArray());
        }
        var clock = Stopwatch.StartNew();
        var train = ReadFolder(run.TrainFolder, teacherInfo);
        var test = ReadFolder(run.TestFolder, teacherInfo);
        var eval = BalancedSubset(test, run.EvalImages);
        Log($"data: {train.Count} training images ({run.TrainFolder}), {test.Count} test images ({run.TestFolder}), evaluation subset {eval.Count} " +
            $"({(run.EvalImages == 0 ? "all" : $"first {eval.Count / test.ClassNames.Count} of each class by file name")}); read in {clock.Elapsed.TotalSeconds:F0} s");

        var settings = new PwoaTableSettings
        {
            TeacherFile = teacherFile, TeacherSha256 = ResultsFile.Sha256(teacherFile),
            TrainFolder = Path.GetFullPath(run.TrainFolder), TrainImages = train.Count,
            TestFolder = Path.GetFullPath(run.TestFolder), TestImages = test.Count, EvalImages = run.EvalImages,
            Profile = run.Profile, AdmmEpochs = run.AdmmEpochs, RetrainEpochs = run.RetrainEpochs,
            Eps = Budget.Format(epsilon), AutoAttack = run.AutoAttack, Seed = 0,
        };
        var state = PwoaTableState.Read(jsonPath);
        if (state is not null && state.Settings != settings)
            throw new InvalidOperationException($"{jsonPath} holds a run with other settings ({state.Settings}); this run has {settings}. Pass --name for a new result file or delete it.");
        state ??= new PwoaTableState { Settings = settings, StartedUtc = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss 'UTC'") };
        state.Teacher = teacherInfo;
        state.TeacherRecipe = run.TeacherRecipe ?? state.TeacherRecipe;
        state.Device = device.ToString();
        state.Threads = run.Threads;
        state.Machine = MachineInfo.Current();
        // The library's protocol (the prune command's too), on every evaluation image, PGD at 2/255 whatever the budget.
        var evaluation = new PrunedModelEvaluation(epsilon, eval.Count, run.AutoAttack, settings.Seed, EvalBatchSize, Techniques.Catalog, PgdStepSize);
        state.PgdAttack = Inv($"PGD-10 (l-inf, eps {settings.Eps}, 10 steps of 2/255, random start, seed {settings.Seed})");
        state.AutoAttackDescription = run.AutoAttack
            ? $"AutoAttackEvaluator.Standard (l-inf, eps {settings.Eps}: {string.Join(", ", AutoAttackEvaluator.StandardAttackNames)}, Square {AutoAttackEvaluator.StandardSquareQueries} queries), seed {settings.Seed}"
            : "skipped (--autoattack off)";
        void Save()
        {
            state.Write(jsonPath);
            PwoaTableReport.Write(markdownPath, state, run);
        }
        Save();
        Log($"PwoA table '{run.Name}': teacher {teacherFile} ({teacherInfo.Architecture} w{teacherInfo.Width}, {teacherInfo.Parameters:N0} parameters), " +
            $"sparsities [{string.Join(", ", sparsities.Select(s => s.Label))}], methods [{string.Join(", ", definitions.Select(d => d.Name))}], profile {run.Profile}, " +
            $"eps {settings.Eps}, AutoAttack {(run.AutoAttack ? "on" : "off")}, device {device}, {run.Threads} threads; work folder {work}");

        // Row one: the teacher, evaluated as it is.
        var teacherRow = state.Row("teacher", "0", 0);
        if (teacherRow.Finished) Log($"teacher: done before (clean {teacherRow.CleanAccuracy:P2}, PGD-10 {teacherRow.PgdAccuracy:P2})");
        else
        {
            using var teacher = Classifier.Load(teacherFile, device);
            var report = SparsityReport.Measure(teacher);
            teacherRow.OverallSparsity = report.Overall;
            teacherRow.Layers = Layers(report);
            Evaluate(teacherRow, teacher, eval, evaluation, Path.Combine(work, "teacher-autoattack.json"));
            Save();
        }

        // Then each sparsity in the order given, each method in the order given, each from a fresh copy of the teacher.
        foreach (var (label, sparsity) in sparsities)
        {
            foreach (var definition in definitions)
            {
                var row = state.Row(definition.Name, label, sparsity);
                if (row.Finished)
                {
                    Log($"{row.Key}: done before (clean {row.CleanAccuracy:P2}, PGD-10 {row.PgdAccuracy:P2}{(row.AutoAttackAccuracy is double a ? $", AutoAttack {a:P2}" : "")})");
                    continue;
                }
                string studentFile = Path.Combine(work, $"{definition.Name}-{label}.safetensors");
                string autoAttackState = Path.Combine(work, $"{definition.Name}-{label}-autoattack.json");
                Classifier student;
                if (row.PrunedUtc is not null && File.Exists(studentFile))
                {
                    Log($"{row.Key}: pruned before ({row.PruneSeconds / 60:F1} min); evaluating the saved student {studentFile}");
                    student = Classifier.Load(studentFile, device);
                }
                else
                {
                    if (File.Exists(autoAttackState)) File.Delete(autoAttackState); // it belonged to an earlier student
                    student = Prune(row, definition, new PrunerSettings
                    {
                        Sparsity = sparsity, AdmmEpochs = run.AdmmEpochs, RetrainEpochs = run.RetrainEpochs, Profile = profile,
                        Seed = settings.Seed, Device = device,
                    }, teacherFile, device, train);
                    student.Save(studentFile);
                    row.StudentFile = studentFile;
                    row.PrunedUtc = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss 'UTC'");
                    Save();
                }
                using (student)
                {
                    Evaluate(row, student, eval, evaluation, autoAttackState);
                }
                Save();
            }
        }
        Log($"all rows done; results in {jsonPath} and {markdownPath}");
        return 0;
    }

    private static Classifier Prune(PwoaTableRow row, PrunerDefinition definition, PrunerSettings settings, string teacherFile, Device device, ImageSet train)
    {
        var pruner = definition.Build(settings);
        row.Description = pruner.ToString();
        row.BatchSize = pruner switch
        {
            Pwoa p => p.Options.BatchSize,
            MagnitudePruner m => m.Options.BatchSize,
            _ => null,
        };
        // A fresh copy of the teacher for every row: nothing one pruner does can reach the next.
        using var teacher = Classifier.Load(teacherFile, device);
        Log($"{row.Key}: pruning with {pruner} on {train.Count} images, device {device}");
        var result = pruner.Prune(teacher, train, EpochLogger(row.Key));
        try
        {
            row.Phases = result.Phases.Select(p => new PwoaTablePhase(PhaseName(p.Phase), p.Epochs, p.Duration.TotalSeconds,
                p.Epochs > 0 ? p.PerEpoch.TotalSeconds : null)).ToList();
            var admm = result.Phases.FirstOrDefault(p => p.Phase == PruningPhase.Admm);
            var retrain = result.Phases.FirstOrDefault(p => p.Phase == PruningPhase.Retrain);
            row.AdmmEpochs = admm?.Epochs ?? 0;
            row.RetrainEpochs = retrain?.Epochs ?? 0;
            row.AdmmSecondsPerEpoch = admm is { Epochs: > 0 } ? admm.PerEpoch.TotalSeconds : null;
            row.RetrainSecondsPerEpoch = retrain is { Epochs: > 0 } ? retrain.PerEpoch.TotalSeconds : null;
            row.PruneSeconds = result.WallTime.TotalSeconds;
            row.OverallSparsity = result.Sparsity.Overall;
            row.Layers = Layers(result.Sparsity);
            Log($"{row.Key}: pruned in {result.WallTime.TotalMinutes:F1} min (" +
                string.Join(", ", row.Phases.Select(p => p.Epochs > 0 ? Inv($"{p.Phase} {p.Epochs} epochs, {p.SecondsPerEpoch:F1} s/epoch") : Inv($"{p.Phase} {p.Seconds:F2} s"))) +
                Inv($"); overall sparsity {result.Sparsity.Overall:P2} over {result.Sparsity.Layers.Count} tensors"));
            return result.Student;
        }
        catch
        {
            result.Student.Dispose();
            throw;
        }
    }

    private static void Evaluate(PwoaTableRow row, Classifier model, ImageSet eval, PrunedModelEvaluation evaluation, string autoAttackState)
    {
        row.EvalImages = eval.Count;
        var scores = evaluation.Evaluate(row.Key, model, row.OverallSparsity ?? 0, eval, eval, EvalLogger(), autoAttackState);
        row.CleanAccuracy = scores.CleanAccuracy;
        row.PgdAccuracy = scores.PgdAccuracy;
        Log($"{row.Key}: clean accuracy {row.CleanAccuracy:P2} on {eval.Count} images, PGD-10 accuracy {row.PgdAccuracy:P2}");
        if (scores.AutoAttack is { } report)
        {
            row.AutoAttackAccuracy = report.RobustAccuracy;
            row.AutoAttackWarnings = report.Warnings.Count > 0 ? report.Warnings : null;
            Log($"{row.Key}: AutoAttack-style accuracy {row.AutoAttackAccuracy:P2}{(report.Warnings.Count > 0 ? $" (warnings: {string.Join("; ", report.Warnings)})" : "")}");
        }
        row.EvalSeconds = scores.Seconds;
        row.FinishedUtc = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss 'UTC'");
    }

    /// <summary>Reads a class-folder tree as the CLI does (resized to the teacher's input size, unreadable files skipped and listed), in the teacher's class order.</summary>
    private static ImageSet ReadFolder(string folder, PwoaTableTeacher teacher)
    {
        var options = new ImageFolderOptions { Size = SizePolicy.Resize(teacher.ImageSize, teacher.ImageSize) };
        var result = ImageFolderReader.Read(folder, options);
        foreach (var failure in result.Errors) Log($"warning: skipped {folder}/{failure.RelativePath}: {failure.Message}");
        return result.Images.AlignClasses(teacher.ClassNames);
    }

    /// <summary>
    /// The first n / classes images of each class by ordinal relative path (the whole set when n = 0), in that order:
    /// the same images for every row and every rerun.
    /// </summary>
    public static ImageSet BalancedSubset(ImageSet test, int n)
    {
        if (n == 0) return test;
        int classes = test.ClassNames.Count;
        if (n % classes != 0)
            throw new ArgumentOutOfRangeException("--eval-images", n, $"--eval-images must be a multiple of the {classes} classes (class-balanced), or 0 for all.");
        int perClass = n / classes;
        var indices = new List<int>();
        for (int c = 0; c < classes; c++)
        {
            var ofClass = Enumerable.Range(0, test.Count).Where(i => test.GetLabel(i) == c)
                .OrderBy(i => test.GetRelativePath(i) ?? "", StringComparer.Ordinal).ToArray();
            if (ofClass.Length < perClass)
                throw new ArgumentOutOfRangeException("--eval-images", n, $"--eval-images {n} needs {perClass} images of each class; class '{test.ClassNames[c]}' has {ofClass.Length} in the test folder.");
            indices.AddRange(ofClass.Take(perClass));
        }
        return test.Subset(indices);
    }

    private static List<PwoaTableLayer> Layers(SparsityReport report) =>
        report.Layers.Select(l => new PwoaTableLayer(l.Name, l.Shape, l.Total, l.Zeros, l.Sparsity)).ToList();

    public static string PhaseName(PruningPhase phase) => phase switch
    {
        PruningPhase.Admm => "admm",
        PruningPhase.HardPrune => "hard-prune",
        PruningPhase.Retrain => "retrain",
        _ => phase.ToString().ToLowerInvariant(),
    };

    // One line per finished epoch, and one a minute within long epochs.
    private static IProgress<PruningProgress> EpochLogger(string what)
    {
        var last = Stopwatch.StartNew();
        return new SyncProgress<PruningProgress>(p =>
        {
            bool epochEnd = p.Batch == p.Batches;
            if (!epochEnd && last.Elapsed.TotalSeconds < 60) return;
            last.Restart();
            Log(Inv($"{what}: {PhaseName(p.Phase)} epoch {p.Epoch + 1}/{p.Epochs} batch {p.Batch}/{p.Batches} loss {p.Loss:G4} lr {p.LearningRate:G3} elapsed {p.Elapsed:hh\\:mm\\:ss}"));
        });
    }

    private static IProgress<PrunedModelProgress> EvalLogger()
    {
        var last = Stopwatch.StartNew();
        return new SyncProgress<PrunedModelProgress>(r =>
        {
            var p = r.Progress;
            if (p.Batch != p.Batches && last.Elapsed.TotalSeconds < 60) return;
            last.Restart();
            Log(Inv($"{r.Model}: {r.Stage} {p.Stage} batch {p.Batch}/{p.Batches}{(p.RobustAccuracy is double a ? $", robust accuracy {a:P1}" : "")}, elapsed {p.Elapsed:hh\\:mm\\:ss}"));
        });
    }

    public static void Log(string message) => SepTable.Log(message);

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
