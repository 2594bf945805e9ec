using Robustness.Hosting;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Robustness.Attacks;
using Robustness.Attacks.Evaluation;
using Robustness.Data;
using Robustness.Runtime;
using Robustness.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Benchmarks;

/// <summary>
/// Issue 3's table: clean and robust accuracy under every l-inf attack of the catalogue at one budget, for several
/// saved models (a clean-trained and a PGD-AT model) on a class-balanced subset of a test folder, plus the
/// AutoAttack-style standard evaluation and its time per 1,000 images. Rows run cheapest first: for every model its
/// clean accuracy and each attack, then AutoAttack for every model, so the cheap rows exist when time runs out. The
/// results JSON and Markdown are rewritten (atomically) after every row; a rerun with the same settings skips the
/// finished rows (AutoAttack also resumes inside a row from its own state file in the work folder).
/// </summary>
public static class AttackTable
{
    /// <summary>
    /// The default attacks: every l-inf attack of the catalogue, fast ones first, then the minimum-norm ones (DeepFool
    /// in l-inf, CW-l2, which exists only in l2). The AutoAttack family also runs on its own, at its defaults.
    /// </summary>
    public static readonly string[] DefaultAttacks =
        ["fgsm", "rfgsm", "bim", "pgd", "mifgsm", "difgsm", "apgd-ce", "apgd-dlr", "apgd-t", "fab-t", "square", "deepfool", "cw-l2"];

    /// <summary>Options of one invocation (settings fix the outcome; the rest is how and where).</summary>
    public sealed record Invocation(AttackTableSettings Settings, IReadOnlyList<(string Name, string File)> Models,
        IReadOnlyList<string> Attacks, bool AutoAttack, string ResultsDir, string WorkDir, string Name, string DeviceName, int Threads);

    public static int Run(Invocation run)
    {
        var s = run.Settings;
        if (run.Models.Count == 0) throw new ArgumentOutOfRangeException("--model", "No model: pass --model NAME=FILE at least once.");
        if (run.Models.Select(m => m.Name).Distinct(StringComparer.Ordinal).Count() != run.Models.Count)
            throw new ArgumentOutOfRangeException("--model", string.Join(", ", run.Models.Select(m => m.Name)), "Model names must be distinct.");
        foreach (var (name, file) in run.Models)
        {
            if (name.Length == 0 || name.Contains('/')) throw new ArgumentOutOfRangeException("--model", name, "A model name must be non-empty and free of '/'.");
            if (!File.Exists(file)) throw new ArgumentOutOfRangeException("--model", file, $"Model file '{file}' does not exist.");
        }
        foreach (string a in run.Attacks) Techniques.Catalog.Create(TechniqueFamily.Attacks, a); // unknown names raise, listing the known ones
        if (s.Images < 1) throw new ArgumentOutOfRangeException("--images", s.Images, "--images must be >= 1.");
        if (s.Batch < 1) throw new ArgumentOutOfRangeException("--batch", s.Batch, "--batch must be >= 1.");
        if (run.Threads < 1) throw new ArgumentOutOfRangeException("--threads", run.Threads, "--threads must be >= 1.");
        if (!Directory.Exists(s.DataFolder)) throw new ArgumentOutOfRangeException("--data", s.DataFolder, $"--data folder '{s.DataFolder}' does not exist.");

        torch.set_num_threads(run.Threads);
        var device = TorchDevices.Resolve(run.DeviceName);
        Directory.CreateDirectory(run.ResultsDir);
        string jsonPath = Path.Combine(run.ResultsDir, run.Name + ".json");
        var state = AttackTableState.Read(jsonPath);
        if (state is not null && state.Settings != s)
            throw new InvalidOperationException($"{jsonPath} holds a run with other settings ({state.Settings}); pass --name for a new result file or delete it.");
        state ??= new AttackTableState { Settings = s, StartedUtc = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss 'UTC'") };
        state.Device = device.ToString();
        state.Threads = run.Threads;
        state.Machine = MachineInfo.Current();
        void Save()
        {
            state.Write(jsonPath);
            AttackTableReport.Write(Path.Combine(run.ResultsDir, run.Name + ".md"), state);
        }

        Log($"attack table '{run.Name}': {s}; models [{string.Join(", ", run.Models.Select(m => m.Name))}], attacks [{string.Join(", ", run.Attacks)}], " +
            $"AutoAttack {(run.AutoAttack ? "on" : "off")}, device {device}, {run.Threads} threads");

        // Models: the same name must mean the same weights in a resumed run.
        foreach (var (name, file) in run.Models)
        {
            string hash = ResultsFile.Sha256(file);
            var known = state.Models.FirstOrDefault(m => m.Name == name);
            if (known is not null && known.Sha256 != hash)
                throw new InvalidOperationException($"{jsonPath} measured model '{name}' with other weights ({known.File}, sha256 {known.Sha256[..12]}...); pass --name for a new result file.");
            if (known is null)
            {
                using var classifier = Classifier.Load(file);
                state.Models.Add(Describe(name, file, hash, classifier));
            }
        }
        int imageSize = state.Models.First(m => m.Name == run.Models[0].Name).ImageSize;
        if (run.Models.Any(m => state.Models.First(x => x.Name == m.Name).ImageSize != imageSize))
            throw new ArgumentOutOfRangeException("--model", "The models take different image sizes; one table needs one test set.");

        var clock = Stopwatch.StartNew();
        var data = LoadBalanced(s.DataFolder, s.Images, imageSize);
        Log($"data: {data.Count} images ({s.Images / data.ClassNames.Count} per class, the first by ordinal file name) from {s.DataFolder}, {imageSize}x{imageSize}, in {clock.Elapsed.TotalSeconds:F1} s");
        Save();

        // Every per-attack row of every model first, AutoAttack last.
        foreach (var (name, file) in run.Models)
        {
            using var classifier = Classifier.Load(file, device);
            var images = data.AlignClasses(classifier.ClassNames);
            var clean = state.Row(name, "clean");
            if (!clean.Done)
            {
                RunClean(clean, classifier, images, run);
                Save();
            }
            else Log($"{clean.Key}: done before ({clean.Accuracy:P1})");
            foreach (string attack in run.Attacks)
            {
                var row = state.Row(name, Techniques.Catalog.Create(TechniqueFamily.Attacks, attack).Name);
                if (row.Done)
                {
                    Log($"{row.Key}: done before (robust accuracy {row.Accuracy:P1})");
                    continue;
                }
                RunAttack(row, classifier, images, run);
                Save();
            }
        }
        if (run.AutoAttack)
        {
            foreach (var (name, file) in run.Models)
            {
                var row = state.Row(name, "autoattack");
                if (row.Done)
                {
                    Log($"{row.Key}: done before (robust accuracy {row.Accuracy:P1})");
                    continue;
                }
                using var classifier = Classifier.Load(file, device);
                var model = state.Models.First(m => m.Name == name);
                string statePath = Path.Combine(run.WorkDir, run.Name, $"{name}-{model.Sha256[..12]}.autoattack-state.json");
                Directory.CreateDirectory(Path.GetDirectoryName(statePath)!);
                RunAutoAttack(row, classifier, data.AlignClasses(classifier.ClassNames), run, statePath);
                Save();
            }
        }
        Log($"all rows done; results in {jsonPath} and {Path.ChangeExtension(jsonPath, ".md")}");
        return 0;
    }

    /// <summary>
    /// The first images/classes files of every class folder by ordinal relative path (so the subset is the same on
    /// any machine and file system), resized as the CLI resizes to the model's input size. Unreadable files fail.
    /// </summary>
    public static ImageSet LoadBalanced(string folder, int images, int imageSize)
    {
        var all = ImageFolderReader.Read(folder, new ImageFolderOptions { Size = SizePolicy.Resize(imageSize, imageSize), Strict = true }).Images;
        int classes = all.ClassNames.Count;
        if (images % classes != 0)
            throw new ArgumentOutOfRangeException("--images", images, $"--images must be a multiple of the {classes} classes in '{folder}' (a class-balanced subset).");
        int perClass = images / classes;
        var byClass = Enumerable.Range(0, all.Count).GroupBy(i => all.GetLabel(i)).ToDictionary(g => g.Key, g => g.ToList());
        var chosen = new List<int>(images);
        for (int c = 0; c < classes; c++)
        {
            var members = byClass.TryGetValue(c, out var list) ? list : [];
            if (members.Count < perClass)
                throw new ArgumentOutOfRangeException("--images", images, $"Class '{all.ClassNames[c]}' of '{folder}' has {members.Count} images; {perClass} per class were asked for.");
            chosen.AddRange(members.OrderBy(i => all.GetRelativePath(i), StringComparer.Ordinal).Take(perClass));
        }
        return all.Subset(chosen);
    }

    private static void RunClean(AttackTableRow row, Classifier classifier, ImageSet images, Invocation run)
    {
        var clock = Stopwatch.StartNew();
        var report = new Evaluator(run.Settings.Batch).Evaluate(classifier, images);
        Finish(row, report.Accuracy, clock.Elapsed.TotalSeconds, images.Count, classifier, run);
        row.CleanCorrect = (int)report.Correct;
        row.Settings = $"no attack; batch {run.Settings.Batch}";
        Log($"{row.Key}: clean accuracy {report.Accuracy:P1} ({report.Correct}/{report.Total}) in {row.WallSeconds:F1} s");
    }

    private static void RunAttack(AttackTableRow row, Classifier classifier, ImageSet images, Invocation run)
    {
        var (attack, judged) = BuildAttack(row.Attack, run.Settings);
        row.Settings = DescribeOptions(attack.Options);
        row.Judged = judged;
        Log($"{row.Key}: {attack} [{row.Settings}]; {judged}");
        var clock = Stopwatch.StartNew();
        var report = new RobustnessEvaluation(run.Settings.Batch).Evaluate(classifier, images, [attack], BatchLogger(row.Key, clock));
        var entry = report.Entries[0];
        row.Entry = entry;
        row.CleanCorrect = report.CleanCorrect;
        Finish(row, entry.RobustAccuracy, clock.Elapsed.TotalSeconds, images.Count, classifier, run);
        Log(string.Create(CultureInfo.InvariantCulture,
            $"{row.Key}: robust accuracy {entry.RobustAccuracy:P1} (clean {report.CleanAccuracy:P1}, broken {entry.Broken}/{entry.Attacked}, mean {entry.Norm.Name()} perturbation {entry.MeanPerturbation:G4}) in {row.WallSeconds:F1} s, {row.ImagesPerSecond:F1} img/s"));
    }

    private static void RunAutoAttack(AttackTableRow row, Classifier classifier, ImageSet images, Invocation run, string statePath)
    {
        var s = run.Settings;
        var options = new AutoAttackOptions { Norm = Norm.Linf, Epsilon = s.Epsilon, Seed = s.Seed, BatchSize = s.Batch, StatePath = statePath };
        // Built as the CLI's `evaluate --autoattack` builds it: the catalogue's attacks at their defaults, Square 5,000 queries.
        var evaluator = Techniques.Catalog.StandardAutoAttack(Norm.Linf, s.Epsilon, s.Seed, options);
        row.Settings = string.Join("; ", evaluator.Attacks.Select(a => $"{a.Name}: {DescribeOptions(a.Options)}"));
        row.Judged = $"linf <= {s.Eps}; each attack runs on the points every earlier one failed on";
        Log($"{row.Key}: AutoAttack-style standard evaluation ({string.Join(", ", evaluator.Attacks.Select(a => a.ToString()))}), state file {statePath}");
        var clock = Stopwatch.StartNew();
        var last = Stopwatch.StartNew();
        var progress = new SyncProgress<EvaluationProgress>(p =>
        {
            if (p.Batch != p.Batches && last.Elapsed.TotalSeconds < 30) return;
            last.Restart();
            Log(string.Create(CultureInfo.InvariantCulture,
                $"{row.Key}: {p.Stage} batch {p.Batch}/{p.Batches}{(p.RobustAccuracy is double r ? $", robust accuracy {r:P1}" : "")}, elapsed {p.Elapsed.TotalSeconds:F0} s"));
        });
        var report = evaluator.Evaluate(classifier, images, progress);
        row.AutoAttack = report;
        row.CleanCorrect = report.CleanCorrect;
        // A resumed evaluation sums the time of its runs in the report; the row's wall time is this call's.
        Finish(row, report.RobustAccuracy, clock.Elapsed.TotalSeconds, images.Count, classifier, run);
        row.ImagesPerSecond = images.Count / report.TotalSeconds;
        Log(string.Create(CultureInfo.InvariantCulture,
            $"{row.Key}: robust accuracy {report.RobustAccuracy:P1} (clean {report.CleanAccuracy:P1}); after each: {string.Join(", ", report.Attacks.Select(a => $"{a.Attack} {a.RobustAccuracy:P1}"))}; " +
            $"{report.TotalSeconds:F1} s = {1000 * report.TotalSeconds / images.Count:F1} s per 1,000 images"));
        foreach (string warning in report.Warnings) Log($"{row.Key}: warning: {warning}");
    }

    /// <summary>
    /// The attack of a catalogue name at the table's budget: in l-inf when the attack has it (else in its first norm,
    /// judged at the l2 bound). A minimum-norm attack has no budget of its own, so its result is judged at the bound:
    /// an image counts as broken only when the attack found a misclassified point within it.
    /// </summary>
    public static (IAttack Attack, string Judged) BuildAttack(string name, AttackTableSettings s)
    {
        var definition = Techniques.Catalog.Create(TechniqueFamily.Attacks, name);
        var norm = definition.Norms.Contains(Norm.Linf) ? Norm.Linf : definition.Norms[0];
        double bound = norm == Norm.Linf ? s.Epsilon : s.L2Bound;
        var attack = RobustnessEvaluation.Build([definition], new AttackSettings { Norm = norm, Seed = s.Seed }, [bound])[0];
        if (!definition.IsMinimumNorm) return (attack, $"{norm.Name()} <= {Budget.Format(bound)}");
        return (new JudgedWithin(attack, bound),
            $"minimum-norm, no budget of its own: broken when its {norm.Name()} perturbation is <= {Budget.Format(bound)}" +
            (norm == Norm.Linf ? "" : " (l2 only: RobustBench's l2 budget, not the l-inf one)"));
    }

    // Options that are budgets or steps on the [0,1] scale, written as k/255 where they are whole pixel levels.
    private static readonly HashSet<string> BudgetNames = ["Epsilon", "StepSize", "StepSizeOrDefault", "Alpha", "AlphaOrDefault"];

    /// <summary>Every property of an options record, as name = value (budgets as k/255 where whole levels); nulls left out.</summary>
    public static string DescribeOptions(AttackOptions options)
    {
        var parts = new List<string>();
        foreach (var p in options.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance).OrderBy(p => p.MetadataToken))
        {
            if (p.GetIndexParameters().Length > 0 || p.Name == "EqualityContract") continue;
            object? value = p.GetValue(options);
            string? text = value switch
            {
                null => null,
                double d when BudgetNames.Contains(p.Name) => Budget.Format(d),
                double d => d.ToString("G4", CultureInfo.InvariantCulture),
                bool b => b ? "true" : "false",
                Norm n => n.Name(),
                IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                _ => value.ToString(),
            };
            if (text is not null) parts.Add($"{p.Name} {text}");
        }
        return string.Join(", ", parts);
    }

    private static void Finish(AttackTableRow row, double accuracy, double seconds, int images, Classifier classifier, Invocation run)
    {
        row.Accuracy = accuracy;
        row.WallSeconds = seconds;
        row.ImagesPerSecond = images / seconds;
        row.Device = classifier.Device.ToString();
        row.Threads = run.Threads;
        row.FinishedUtc = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss 'UTC'");
    }

    private static AttackTableModel Describe(string name, string file, string hash, Classifier c) => new()
    {
        Name = name, File = Path.GetFullPath(file), Sha256 = hash, Architecture = c.Spec.Architecture, Width = c.Spec.Width,
        Depth = c.Spec.Depth, WidenFactor = c.Spec.WidenFactor, ImageSize = c.Spec.ImageSize, Classes = c.Spec.Classes,
        Mean = c.Normalization.Mean, Std = c.Normalization.Std, Parameters = c.ParameterCount,
    };


    private static IProgress<EvaluationProgress> BatchLogger(string what, Stopwatch clock)
    {
        var last = Stopwatch.StartNew();
        return new SyncProgress<EvaluationProgress>(p =>
        {
            if (p.Batch != p.Batches && last.Elapsed.TotalSeconds < 30) return;
            last.Restart();
            Log($"{what}: batch {p.Batch}/{p.Batches}, {clock.Elapsed.TotalSeconds:F0} s");
        });
    }

    public static void Log(string message) =>
        Console.WriteLine($"[{DateTime.Now.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)}] {message}");

    /// <summary>
    /// A minimum-norm attack seen through a bound: runs the attack unchanged and reports the bound as its budget, so
    /// the library's evaluator (<see cref="AdversarialVerdict"/>) counts only adversarials within it.
    /// </summary>
    private sealed class JudgedWithin(IAttack inner, double bound) : IAttack
    {
        public string Name => inner.Name;
        public AttackOptions Options => inner.Options;
        public bool IsBlackBox => inner.IsBlackBox;
        public Norm Norm => inner.Norm;
        public double? Epsilon => bound;
        public Tensor Run(Classifier classifier, Tensor images, Tensor labels, CancellationToken cancellationToken = default) =>
            inner.Run(classifier, images, labels, cancellationToken);
        public override string ToString() => $"{inner}, judged at {Norm.Name()} <= {Budget.Format(bound)}";
    }

    /// <summary>Reports on the calling thread (Progress&lt;T&gt; would post to the thread pool and reorder lines).</summary>
    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
