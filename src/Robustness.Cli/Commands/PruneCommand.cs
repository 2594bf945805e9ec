using Robustness.Models;
using Robustness.Hosting;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Robustness.Attacks;
using Robustness.Cli.Output;
using Robustness.Data;
using Robustness.IO;
using Robustness.Pruning;

namespace Robustness.Cli.Commands;

/// <summary>
/// <c>robustness prune</c>: prunes a saved (robust) model with PwoA or a baseline, saves the student, and reports
/// per-layer sparsity, clean and robust accuracy (PGD-10 and the AutoAttack-style evaluation) of teacher and
/// student, and wall time per phase.
/// </summary>
public static class PruneCommand
{
    /// <summary>The share of --data held out for testing when no --test folder is given.</summary>
    public const double DefaultHoldout = 0.1;

    /// <summary>Builds the command.</summary>
    public static Command Create(TextWriter output, TextWriter error, ITechniqueCatalog catalog, ModelFamilyRegistry models)
    {
        var model = new Option<string>("--model") { Description = "The robust model to prune (safetensors saved by 'robustness train').", Required = true };
        var data = new Option<string>("--data") { Description = "Training images in class folders (DIR/<class>/<image>); clean images only are used.", Required = true };
        var outPath = new Option<string>("--out") { Description = "Where to save the pruned model (safetensors).", Required = true };
        var sparsity = new Option<string>("--sparsity") { Description = "Fraction of weights zeroed per pruned layer: 0.75, 75% or a ratio 4x (= 0.75).", DefaultValueFactory = _ => "0.75" };
        var method = new Option<string>("--method") { Description = $"Pruning method: {string.Join(", ", catalog.Names(TechniqueFamily.Pruners))}.", DefaultValueFactory = _ => "pwoa" };
        method.AcceptOnlyFromAmong([.. catalog.Names(TechniqueFamily.Pruners)]);
        var admmEpochs = new Option<int?>("--admm-epochs") { Description = "ADMM epochs (PwoA and ablations; default: the profile's, paper 50, fast 6)." };
        var retrainEpochs = new Option<int?>("--retrain-epochs") { Description = "Masked retraining / fine-tuning epochs (default: the profile's, paper 100, fast 6)." };
        var profile = new Option<string>("--profile") { Description = "Recipe: paper (the paper's CIFAR-10 schedule) or fast (a short CPU run).", DefaultValueFactory = _ => "paper" };
        profile.AcceptOnlyFromAmong("paper", "fast");
        var batch = new Option<int?>("--batch-size") { Description = "Images per pruning step (default: the profile's, paper 128, fast 64)." };
        var test = new Option<string?>("--test") { Description = "Test images in class folders; without it a seeded 10% of --data is held out (and not trained on)." };
        var eps = new Option<string>("--eps") { Description = "l-inf budget of the robustness evaluation: 8/255, 0.0314, 8 (pixel levels).", DefaultValueFactory = _ => "8/255" };
        var attackImages = new Option<int>("--attack-images") { Description = "At most this many test images are attacked (robust accuracy is slow on a CPU).", DefaultValueFactory = _ => 500 };
        var noAutoAttack = new Option<bool>("--no-autoattack") { Description = "Skip the AutoAttack-style evaluation (PGD-10 only)." };
        var report = ReportFolder.Option("accuracy against sparsity, sparsity per layer");
        var seed = CommonOptions.Seed();
        var device = CommonOptions.Device();

        var command = new Command("prune", "Prune a robust model (PwoA or a baseline) and report sparsity, clean and robust accuracy.")
        {
            model, data, outPath, sparsity, method, admmEpochs, retrainEpochs, profile, batch, test, eps, attackImages, noAutoAttack, report, seed, device,
        };
        command.SetAction((parse, cancel) =>
        {
            var total = Stopwatch.StartNew();
            // Every argument is checked before anything is loaded.
            string modelPath = parse.GetValue(model)!;
            if (!File.Exists(modelPath)) throw new UsageException($"--model file '{modelPath}' does not exist.");
            string dataDir = parse.GetValue(data)!;
            if (!Directory.Exists(dataDir)) throw new UsageException($"--data folder '{dataDir}' does not exist.");
            string? testDir = parse.GetValue(test);
            if (testDir is not null && !Directory.Exists(testDir)) throw new UsageException($"--test folder '{testDir}' does not exist.");
            double target = CommonOptions.Usage(() => PrunerSettings.ParseSparsity(parse.GetValue(sparsity)!, "--sparsity"));
            var definition = CommonOptions.Usage(() => catalog.Create(TechniqueFamily.Pruners, parse.GetValue(method)!), "--method");
            int? admm = parse.GetValue(admmEpochs), retrain = parse.GetValue(retrainEpochs), batchSize = parse.GetValue(batch);
            if (admm < 0) throw new UsageException($"--admm-epochs must be >= 0; got {admm}.");
            if (retrain < 0) throw new UsageException($"--retrain-epochs must be >= 0; got {retrain}.");
            if (batchSize < 2) throw new UsageException($"--batch-size must be >= 2; got {batchSize}.");
            double epsilon = CommonOptions.Usage(() => Budget.Parse(parse.GetValue(eps)!, "--eps"), "--eps");
            int attackCap = CommonOptions.InRange(parse, attackImages, 1);
            int seedValue = CommonOptions.InRange(parse, seed, 0);
            var deviceValue = CommonOptions.ResolveDevice(parse, device);
            var settings = new PrunerSettings
            {
                Sparsity = target, AdmmEpochs = admm, RetrainEpochs = retrain, BatchSize = batchSize, Seed = seedValue, Device = deviceValue,
                Profile = parse.GetValue(profile) == "fast" ? PruningProfile.Fast : PruningProfile.Paper,
            };
            var pruner = CommonOptions.Usage(() => definition.Build(settings), "--method");
            string outFile = parse.GetValue(outPath)!;
            var reportFolder = ReportFolder.From(parse, report, error);
            var phases = new List<PhaseSeconds>();

            var clock = Stopwatch.StartNew();
            using var teacher = Classifier.Load(modelPath, deviceValue, models);
            var all = DataSources.ReadFolder(dataDir, error, size: teacher.Spec.ImageSize).AlignClasses(teacher.ClassNames);
            ImageSet train, testSet;
            string testSource;
            if (testDir is not null)
            {
                train = all;
                testSet = DataSources.ReadFolder(testDir, error, size: teacher.Spec.ImageSize).AlignClasses(teacher.ClassNames);
                testSource = $"--test {testDir}";
            }
            else
            {
                (train, testSet) = HoldOut(all, DefaultHoldout, seedValue);
                testSource = string.Create(CultureInfo.InvariantCulture, $"held out from --data: {testSet.Count} of {all.Count} images ({DefaultHoldout:P0}, seed {seedValue}), not used for pruning");
            }
            phases.Add(new PhaseSeconds("load", 0, clock.Elapsed.TotalSeconds));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Pruning {teacher.Spec.Architecture} ({teacher.ParameterCount:N0} parameters) with {pruner} on {train.Count} images, device {deviceValue.type}, seed {seedValue}."));
            output.WriteLine($"Test data: {testSource}.");

            var result = new PruningProgressDisplay(output).Run($"{pruner.Name}: sparsity {target:0.####}", progress => pruner.Prune(teacher, train, progress, cancel));
            using var student = result.Student;
            phases.AddRange(result.Phases.Select(p => new PhaseSeconds(PruningProgressDisplay.PhaseName(p.Phase), p.Epochs, p.Duration.TotalSeconds)));

            clock.Restart();
            student.Save(outFile);
            phases.Add(new PhaseSeconds("save", 0, clock.Elapsed.TotalSeconds));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Pruned in {result.WallTime:hh\\:mm\\:ss}: overall sparsity {result.Sparsity.Overall:P2} over {result.Sparsity.Layers.Count} tensors; saved to {outFile}."));

            var evaluation = new PrunedModelEvaluation(epsilon, attackCap, autoAttack: !parse.GetValue(noAutoAttack), seedValue, catalog: catalog);
            var attacked = evaluation.AttackSubset(testSet);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Evaluating teacher and student: clean accuracy on {testSet.Count} test images; {evaluation.Pgd}{(evaluation.AutoAttack ? " and the AutoAttack-style evaluation" : "")} on {attacked.Count} of them (--attack-images {attackCap})."));
            var teacherScores = evaluation.Evaluate("teacher", teacher, SparsityReport.Measure(teacher).Overall, testSet, attacked, PrunedModelProgressLines.To(output), cancellationToken: cancel);
            phases.Add(new PhaseSeconds("evaluate-teacher", 0, teacherScores.Seconds));
            var studentScores = evaluation.Evaluate(pruner.Name, student, result.Sparsity.Overall, testSet, attacked, PrunedModelProgressLines.To(output), cancellationToken: cancel);
            phases.Add(new PhaseSeconds("evaluate-student", 0, studentScores.Seconds));

            var document = new PruneReport(Path.GetFullPath(modelPath), Path.GetFullPath(outFile), pruner.Name, pruner.ToString() ?? pruner.Name,
                settings.Profile.ToString().ToLowerInvariant(), target, seedValue, deviceValue.type.ToString().ToLowerInvariant(), train.Count, testSource, testSet.Count,
                attackCap, attacked.Count, Budget.Format(epsilon), epsilon, evaluation.Pgd.ToString() ?? "pgd", evaluation.AutoAttack,
                result.Sparsity, teacherScores, studentScores, phases, total.Elapsed.TotalSeconds);
            string markdown = document.ToMarkdown();
            output.WriteLine();
            output.Write(markdown);
            if (reportFolder is not null) output.WriteLine(PruningReport.Write(reportFolder, document));
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    /// <summary>Splits <paramref name="all"/> into a training part and a seeded held-out test part (at least one image each).</summary>
    public static (ImageSet Train, ImageSet Test) HoldOut(ImageSet all, double fraction, int seed)
    {
        ArgumentNullException.ThrowIfNull(all);
        if (all.Count < 2) throw new InvalidDataException($"--data holds {all.Count} image(s): too few to hold some out for testing; give --test.");
        int testCount = Math.Clamp((int)Math.Round(all.Count * fraction, MidpointRounding.AwayFromZero), 1, all.Count - 1);
        var order = Enumerable.Range(0, all.Count).ToArray();
        new Random(seed).Shuffle(order);
        return (all.Subset(order.Skip(testCount).Order().ToArray()), all.Subset(order.Take(testCount).Order().ToArray()));
    }

    /// <summary>Wall time of one phase of the command.</summary>
    /// <param name="Phase">load, admm, hard-prune, retrain, save, evaluate-teacher, evaluate-student.</param>
    /// <param name="Epochs">Epochs it ran (0 when it has none).</param>
    /// <param name="Seconds">Its wall time.</param>
    public sealed record PhaseSeconds(string Phase, int Epochs, double Seconds)
    {
        /// <summary>Seconds per epoch, or null for a phase without epochs.</summary>
        public double? SecondsPerEpoch => Epochs > 0 ? Seconds / Epochs : null;
    }

    /// <summary>The JSON report of <c>prune</c>.</summary>
    public sealed record PruneReport(string Model, string Out, string Method, string Description, string Profile, double TargetSparsity, int Seed,
        string Device, int TrainImages, string TestSource, int TestImages, int AttackImagesCap, int AttackedImages, string Eps, double Epsilon,
        string PgdAttack, bool AutoAttack, SparsityReport Sparsity, ModelScores Teacher, ModelScores Student, IReadOnlyList<PhaseSeconds> Phases,
        double TotalSeconds)
    {
        /// <summary>The report as Markdown: the accuracy table, the per-layer sparsity and the phase times.</summary>
        public string ToMarkdown()
        {
            var c = CultureInfo.InvariantCulture;
            var md = new StringBuilder();
            md.AppendLine(c, $"# Pruning: {Method} at sparsity {TargetSparsity:0.####}");
            md.AppendLine();
            md.AppendLine(c, $"- Method: {Description} (profile {Profile}, seed {Seed}, device {Device})");
            md.AppendLine(c, $"- Pruned on {TrainImages} images; test data: {TestSource} ({TestImages} images)");
            md.AppendLine(c, $"- Robust accuracy on {AttackedImages} test images (cap --attack-images {AttackImagesCap}): {PgdAttack}{(AutoAttack ? "; AutoAttack-style (APGD-CE, APGD-T, FAB-T, Square 5000)" : "; AutoAttack skipped")}, eps {Eps}");
            md.AppendLine();
            md.Append(PrunedModelEvaluation.Table([Teacher, Student]));
            md.AppendLine();
            md.Append(Sparsity.ToMarkdown());
            md.AppendLine();
            md.AppendLine("| phase | epochs | seconds | seconds/epoch |");
            md.AppendLine("|---|---:|---:|---:|");
            foreach (var p in Phases)
                md.AppendLine(c, $"| {p.Phase} | {p.Epochs} | {p.Seconds:F1} | {(p.SecondsPerEpoch is double s ? s.ToString("F1", c) : "-")} |");
            md.AppendLine(c, $"| **total** | | {TotalSeconds:F1} | |");
            return md.ToString();
        }
    }
}
