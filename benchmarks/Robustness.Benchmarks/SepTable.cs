using Robustness.Hosting;
using System.Diagnostics;
using System.Globalization;
using Robustness.Attacks;
using Robustness.Data;
using Robustness.Models;
using Robustness.Protection;
using Robustness.Runtime;
using Robustness.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Benchmarks;

/// <summary>
/// The reduced-scale CIFAR-10 table of ../shared/reference/SEP.md, resumable by stage: (1) a class-balanced subset of
/// the CIFAR-10 JPEGs; (2) the source model (CIFAR ResNet-18, SEP recipe via <see cref="TrainingOptions.ForSep"/>,
/// crop + flip, one checkpoint per epoch on disk); (3) per method and eps, the protected training set (CIFAR binary
/// file, written atomically); (4) per row, a victim trained on it with the true labels and its clean test accuracy.
/// Every finished stage is on disk (work folder) or in the results JSON before the next starts, so a killed run
/// started again with the same settings continues where it stopped. Prints timestamped progress lines.
/// </summary>
public static class SepTable
{
    public static readonly string[] AllMethods = ["clean", "random", "final-checkpoint", "sep", "sep-fa", "sep-fa-vr"];

    /// <summary>Options of one invocation (settings fix the outcome; the rest is how and where).</summary>
    public sealed record Invocation(SepTableSettings Settings, IReadOnlyList<string> Methods, IReadOnlyList<string> Epsilons,
        string Tarball, string WorkDir, string ResultsDir, string Name, string DeviceName, int Threads, int CraftBatch);

    public static int Run(Invocation run)
    {
        var s = run.Settings;
        foreach (string m in run.Methods)
            if (!AllMethods.Contains(m)) throw new ArgumentOutOfRangeException("--methods", m, $"Unknown method '{m}'. Known: {string.Join(", ", AllMethods)}.");
        if (s.TestImages % 10 != 0 || s.TestImages < 10 || s.TestImages > 10_000)
            throw new ArgumentOutOfRangeException("--test", s.TestImages, "--test must be a multiple of 10 in [10, 10000] (balanced classes).");
        if (s.TrainPerClass is < 1 or > 5000) throw new ArgumentOutOfRangeException("--per-class", s.TrainPerClass, "--per-class must be in [1, 5000].");

        torch.set_num_threads(run.Threads);
        var device = TorchDevices.Resolve(run.DeviceName);
        Directory.CreateDirectory(run.ResultsDir);
        string jsonPath = Path.Combine(run.ResultsDir, run.Name + ".json");
        var state = SepTableState.Read(jsonPath);
        if (state is not null && state.Settings != s)
            throw new InvalidOperationException($"{jsonPath} holds a run with other settings ({state.Settings}); pass --name for a new result file or delete it.");
        state ??= new SepTableState { Settings = s, StartedUtc = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss 'UTC'") };
        state.Device = device.ToString();
        state.Threads = run.Threads;
        state.CraftBatch = run.CraftBatch;
        state.Machine = MachineInfo.Current();
        void Save()
        {
            state.Write(jsonPath);
            SepTableReport.Write(Path.Combine(run.ResultsDir, run.Name + ".md"), state);
        }

        string work = Path.Combine(run.WorkDir, s.SourceKey);
        Directory.CreateDirectory(work);
        Log($"SEP table '{run.Name}': {s}; methods [{string.Join(", ", run.Methods)}], eps [{string.Join(", ", run.Epsilons)}], device {device}, {run.Threads} threads; work folder {work}");

        // (1) data
        var clock = Stopwatch.StartNew();
        var (train, test) = CifarJpegSubset.Load(run.Tarball, Path.Combine(work, "jpeg"), s.TrainPerClass, s.TestImages / 10);
        state.DataSeconds ??= clock.Elapsed.TotalSeconds;
        Log($"data: {train.Count} training and {test.Count} test images (CIFAR-10 JPEG, first of each class by file name) in {clock.Elapsed.TotalSeconds:F0} s");

        // (2) source model and its checkpoints
        string checkpointDir = Path.Combine(work, "source-checkpoints");
        using var checkpoints = SourceCheckpoints(state, s, train, test, checkpointDir, Path.Combine(work, SourceFile), device);
        Save();

        // (3) + (4) one row at a time: clean first, then each eps in the order given, methods in the order given.
        var rows = new List<(string Method, string Eps, double Value)>();
        if (run.Methods.Contains("clean")) rows.Add(("clean", "0", 0));
        foreach (string epsText in run.Epsilons)
        {
            double eps = Budget.Parse(epsText);
            foreach (string m in run.Methods.Where(m => m != "clean")) rows.Add((m, Budget.Format(eps), eps));
        }
        foreach (var (method, epsText, eps) in rows)
        {
            var row = state.Row(method, epsText, ProtectionQuantizer.Levels(eps));
            if (row.VictimTestAccuracy is not null)
            {
                Log($"{row.Key}: done before (victim {row.VictimTestAccuracy:P2})");
                continue;
            }
            var trainingSet = method == "clean" ? train : ProtectedSet(row, run, s, train, checkpoints, Path.Combine(work, "protected"), device, Save);
            TrainVictim(row, s, trainingSet, test, device);
            Save();
        }
        Log($"all rows done; results in {jsonPath} and {Path.ChangeExtension(jsonPath, ".md")}");
        return 0;
    }

    // The source model's outcome beside its checkpoints, so that runs under other result names (processes working side by
    // side on one device, see Merge) share one source model instead of training it again.
    private const string SourceFile = "source.json";

    /// <summary>
    /// One table from runs of the same settings made side by side (each under its own result name, sharing the work
    /// folder and so one source model): finished rows of every part, in the parts' order; a row finished in two parts
    /// is taken from the first. Parts with other settings are refused.
    /// </summary>
    public static int Merge(string resultsDir, string name, IReadOnlyList<string> parts)
    {
        if (parts.Count == 0) throw new ArgumentException("--parts names no result files.", "--parts");
        var states = parts.Select(part =>
        {
            string path = Path.Combine(resultsDir, part + ".json");
            return SepTableState.Read(path) ?? throw new FileNotFoundException($"No results file {path} for part '{part}'.", path);
        }).ToList();
        for (int i = 1; i < states.Count; i++)
            if (states[i].Settings != states[0].Settings)
                throw new InvalidOperationException($"Part '{parts[i]}' has other settings ({states[i].Settings}) than the first part '{parts[0]}' ({states[0].Settings}).");
        // The first part carries the shared fields (settings, machine, device); the rows come from every part.
        var merged = states[0];
        merged.MergedFrom = [.. parts];
        merged.Source = states.Select(st => st.Source).FirstOrDefault(src => src is not null);
        merged.StartedUtc = states.Select(st => st.StartedUtc).Where(t => t is not null).Min(StringComparer.Ordinal);
        merged.Rows = states.SelectMany(st => st.Rows).Where(r => r.VictimTestAccuracy is not null).DistinctBy(r => r.Key).ToList();
        merged.Write(Path.Combine(resultsDir, name + ".json"));
        SepTableReport.Write(Path.Combine(resultsDir, name + ".md"), merged);
        Log($"merged {merged.Rows.Count} finished rows of [{string.Join(", ", parts)}] into {name}.json and {name}.md");
        return 0;
    }

    private static CheckpointSet SourceCheckpoints(SepTableState state, SepTableSettings s, ImageSet train, ImageSet test, string folder,
        string sourceFile, Device device)
    {
        if (Directory.Exists(folder))
        {
            try
            {
                var existing = CheckpointSet.Open(folder);
                state.Source ??= ResultsFile.Read<SepTableSource>(sourceFile, SepTableState.JsonOptions);
                if (existing.Count == s.Epochs && state.Source is not null)
                {
                    Log($"source: {existing.Count} checkpoints found in {folder} (test accuracy {state.Source.TestAccuracy:P2})");
                    return existing;
                }
                existing.Dispose();
            }
            catch (Exception e) when (e is IOException or InvalidDataException)
            {
                Log($"source: unreadable checkpoint folder ({e.Message})");
            }
            // A run killed during training: the optimiser state is gone, so the source is trained again from scratch.
            Log($"source: incomplete checkpoint folder {folder}; training again");
            Directory.Delete(folder, recursive: true);
        }

        var set = CheckpointSet.Create(folder);
        var sep = SourceModelRecipe.ForSep(new ModelSpec(s.Architecture, 10, s.Width), s.Epochs);
        var recipe = sep with
        {
            Training = sep.Training with { EvaluationInterval = s.Epochs, ProgressInterval = int.MaxValue },
            Normalization = Normalization.Cifar10, Seed = s.SourceSeed, Device = device,
        };
        using var source = recipe.CreateModel(train);
        var options = recipe.EffectiveTraining;
        Log($"source: training {s.Architecture} w{s.Width} ({source.ParameterCount:N0} parameters) on {train.Count} images for {s.Epochs} epochs, schedule {options.Schedule}, one checkpoint per epoch");
        var result = recipe.Train(source, train, test, set, EpochLogger("source"));
        state.Source = new SepTableSource
        {
            TestAccuracy = result.Final.Test!.Accuracy,
            TrainSeconds = result.WallTime.TotalSeconds,
            ImagesPerSecond = result.History.Average(h => h.ImagesPerSecond),
            CheckpointEpochs = set.Epochs,
            CheckpointFolder = folder,
        };
        ResultsFile.Write(sourceFile, state.Source, SepTableState.JsonOptions);
        Log($"source: done in {result.WallTime.TotalMinutes:F1} min, test accuracy {state.Source.TestAccuracy:P2}");
        return set;
    }

    private static ImageSet ProtectedSet(SepTableRow row, Invocation run, SepTableSettings s, ImageSet train, CheckpointSet checkpoints,
        string folder, Device device, Action save)
    {
        Directory.CreateDirectory(folder);
        // Crafting depends on the source and K, T, M only; the file name says which.
        string file = Path.Combine(folder, string.Create(CultureInfo.InvariantCulture,
            $"{row.Method}-eps{row.EpsLevels}-k{s.CheckpointCount}-t{s.Iterations}{(row.Method == "sep-fa-vr" ? $"-m{s.InnerSteps}" : "")}.bin"));
        row.ProtectedFile = file;
        if (File.Exists(file))
        {
            var stored = CifarBinaryReader.ReadFiles([file], CifarFormat.Cifar10, train.ClassNames);
            if (stored.Count == train.Count && stored.Labels.SequenceEqual(train.Labels))
            {
                Log($"{row.Key}: protected set found ({file})");
                RecordDelta(row, train, stored);
                return stored;
            }
            Log($"{row.Key}: {file} does not match the training set; crafting again");
        }

        double eps = row.EpsLevels / 255.0;
        var protector = CreateProtector(row.Method, eps, s, checkpoints, device);
        try
        {
            row.SelectedEpochs = (protector as SelfEnsembleProtection)?.SelectedEpochs;
            Log($"{row.Key}: crafting with {protector.Name}{(row.SelectedEpochs is null ? "" : $" (checkpoints of epochs {string.Join(", ", row.SelectedEpochs)})")}, eps {row.Eps}, batch {run.CraftBatch}");
            var clock = Stopwatch.StartNew();
            var result = DataProtection.Protect(protector, train, run.CraftBatch, device, CraftLogger(row.Key));
            row.CraftingSeconds = clock.Elapsed.TotalSeconds;
            row.CraftingImagesPerSecond = train.Count / row.CraftingSeconds;
            row.GradientCalls = (protector as SelfEnsembleProtection)?.GradientCalls;
            CifarBinaryWriter.Write(result, file);
            RecordDelta(row, train, result);
            Log($"{row.Key}: crafted in {row.CraftingSeconds / 60:F1} min ({row.CraftingImagesPerSecond:F1} img/s), max |delta| {row.MaxDeltaLevels} levels, mean {row.MeanAbsDeltaLevels:F2}");
            save();
            return result;
        }
        finally
        {
            (protector as IDisposable)?.Dispose();
        }
    }

    // Built by name from the catalogue, as the CLI does; final-checkpoint is the selection rule with K = 1 (the last epoch).
    private static IDataProtector CreateProtector(string method, double eps, SepTableSettings s, CheckpointSet checkpoints, Device device) =>
        Techniques.Catalog.Create(TechniqueFamily.Protectors, method).Build(new ProtectorSettings
        {
            Epsilon = eps, Iterations = s.Iterations, StepSize = 1.0 / 255, CheckpointCount = s.CheckpointCount, InnerSteps = s.InnerSteps,
            Checkpoints = checkpoints, Device = device, Seed = 0,
        });

    private static void RecordDelta(SepTableRow row, ImageSet clean, ImageSet stored)
    {
        var a = clean.Pixels;
        var b = stored.Pixels;
        int max = 0;
        long sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            int d = Math.Abs(a[i] - b[i]);
            max = Math.Max(max, d);
            sum += d;
        }
        row.MaxDeltaLevels = max;
        row.MeanAbsDeltaLevels = sum / (double)a.Length;
        if (max > row.EpsLevels) throw new InvalidOperationException($"{row.Key}: the protected set exceeds the budget ({max} > {row.EpsLevels} levels).");
    }

    private static void TrainVictim(SepTableRow row, SepTableSettings s, ImageSet train, ImageSet test, Device device)
    {
        using var victim = Classifier.Create(new ModelSpec(s.Architecture, 10, s.Width), Normalization.Cifar10, train.ClassNames, device, seed: s.VictimSeed);
        var options = TrainingOptions.ForSep(s.Epochs) with
        {
            Augmentation = ComposedAugmentation.Cifar(), Seed = s.VictimSeed, Device = device, Checkpoints = CheckpointSchedule.None,
            EvaluationInterval = s.Epochs, ProgressInterval = int.MaxValue,
        };
        Log($"{row.Key}: training the victim ({s.Epochs} epochs on {train.Count} images, seed {s.VictimSeed})");
        var result = new Trainer(options).Train(victim, train, test, progress: EpochLogger(row.Key + " victim"));
        row.VictimTestAccuracy = result.Final.Test!.Accuracy;
        row.VictimTrainAccuracy = result.Final.TrainAccuracy;
        row.VictimSeconds = result.WallTime.TotalSeconds;
        row.FinishedUtc = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss 'UTC'");
        Log($"{row.Key}: victim clean test accuracy {row.VictimTestAccuracy:P2} (train accuracy {row.VictimTrainAccuracy:P1}, {row.VictimSeconds / 60:F1} min)");
    }

    private static IProgress<TrainingProgress> EpochLogger(string what) => new SyncProgress<TrainingProgress>(p =>
    {
        if (p.Batch == p.BatchesPerEpoch)
            Log($"{what}: epoch {p.Epoch + 1}/{p.Epochs} loss {p.Loss:F3} lr {p.LearningRate:G3} {p.ImagesPerSecond:F0} img/s");
    });

    private static IProgress<ProtectionProgress> CraftLogger(string what)
    {
        var last = Stopwatch.StartNew();
        return new SyncProgress<ProtectionProgress>(p =>
        {
            if (p.Done != p.Total && last.Elapsed.TotalSeconds < 60) return;
            last.Restart();
            double eta = p.ImagesPerSecond > 0 ? (p.Total - p.Done) / p.ImagesPerSecond : double.NaN;
            Log($"{what}: {p.Stage} {p.Done}/{p.Total} images, {p.ImagesPerSecond:F1} img/s, ETA {eta / 60:F1} min");
        });
    }

    public static void Log(string message) =>
        Console.WriteLine($"[{DateTime.Now.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)}] {message}");
}
