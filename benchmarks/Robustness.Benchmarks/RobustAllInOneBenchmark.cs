using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Robustness.Attacks;
using Robustness.Attacks.Evaluation;
using Robustness.Data;
using Robustness.Efficiency;
using Robustness.Masks;
using Robustness.Models;
using Robustness.Pruning;
using Robustness.Training;
using TorchSharp;

namespace Robustness.Benchmarks;

/// <summary>
/// Robust All-in-One on CIFAR-10 at CPU scale (issue 16, part 5): a PGD-AT teacher (ResNet-18 spec, Madry's recipe),
/// then one multi-ratio weight set trained from it with <see cref="RobustSandwichObjective"/> (PwoA's self-distillation
/// and, by default, HSIC at every drawn ratio; no adversarial examples), against PGD-AT models trained separately at
/// each width (the teacher is the 100% one) and one-shot L1-norm slices of the teacher. Every model is evaluated by
/// PwoA's protocol (<see cref="PrunedModelEvaluation"/>: clean, PGD-10 and AutoAttack on the same seeded images).
/// Trained models are kept in a work folder, so a rerun after a kill skips what was trained. Writes
/// benchmarks/results/&lt;name&gt;.{json,md}.
/// </summary>
public static class RobustAllInOneBenchmark
{
    public sealed record Options(int PerClass, int TestPerClass, int Width, int AdversarialEpochs, int Epochs, double LearningRate, bool Hsic,
        int AttackImages, bool AutoAttack, int Threads, string Tarball, string Name);

    public sealed record Scores(double Clean, double Pgd10, double? AutoAttack);

    public sealed record RatioRow(double Ratio, long Parameters, long Macs, Scores AllInOne, Scores Separate, Scores OneShot);

    public sealed record Result(Options Settings, MachineInfo Machine, string CpuFlags, IReadOnlyList<RatioRow> Ratios, double TeacherSeconds,
        double SeparateSeconds, double AllInOneSeconds, double EvaluationSeconds, int AttackedImages, long SharedBytes, long PerRatioBytes, long SeparateBytes,
        string Objective, string Command);

    private static readonly double[] Ratios = [1, 0.75, 0.5, 0.25];
    private const double Epsilon = 8.0 / 255;

    public static int Run(string resultsDir, Options o)
    {
        torch.set_num_threads(o.Threads);
        string root = Path.Combine(Path.GetTempPath(), "robustness-robust-all-in-one-bench");
        string work = Path.Combine(root, o.Name);
        Directory.CreateDirectory(work);
        var (train, test) = CifarJpegSubset.Load(o.Tarball, Path.Combine(root, "jpeg"), o.PerClass, o.TestPerClass);
        var arch = ArchSpecs.ResNet18(o.Width);
        var plan = ChannelPlan.For(arch, 32);

        // PGD-AT (Madry: 7 steps of 2/255 at 8/255, crafted in training mode), SGD lr 0.1 cosine, crop-flip: the teacher and
        // every separate width. A model already in the work folder is loaded instead of trained (resume after a kill).
        var recipe = new TrainingOptions
        {
            Epochs = o.AdversarialEpochs, BatchSize = 128, LearningRate = 0.1, Schedule = new CosineLearningRate(o.AdversarialEpochs),
            Augmentation = ComposedAugmentation.Cifar(), Seed = 0, Checkpoints = CheckpointSchedule.None, EvaluationInterval = o.AdversarialEpochs,
            ProgressInterval = int.MaxValue,
        };
        var seconds = ReadSeconds(work);
        Classifier AdversariallyTrained(string file, ArchSpec spec)
        {
            string path = Path.Combine(work, file);
            if (File.Exists(path)) return Classifier.Load(path);
            var model = Classifier.Create(spec.ToModelSpec(10, 3, 32), Normalization.Cifar10, train.ClassNames, seed: 0);
            var clock = Stopwatch.StartNew();
            new Trainer(recipe, new PgdAdversarialObjective()).Train(model, train);
            seconds[file] = clock.Elapsed.TotalSeconds;
            model.Save(path); // atomic: a kill never leaves a half-written model to resume from
            WriteSeconds(work, seconds);
            Console.WriteLine(Inv($"{file}: PGD-AT {o.AdversarialEpochs} epochs in {seconds[file] / 60:F1} min"));
            return model;
        }

        var separate = new Dictionary<double, Classifier>();
        var exported = new Dictionary<double, Classifier>();
        var oneShot = new Dictionary<double, Classifier>();
        try
        {
            var teacher = separate[1] = AdversariallyTrained("teacher.safetensors", arch);
            teacher.Eval();

            // Robust All-in-One: start from the teacher's weights, learn every drawn ratio from the frozen teacher.
            string multiPath = Path.Combine(work, "all-in-one.safetensors");
            using var network = File.Exists(multiPath) ? MultiRatioNetwork.Load(multiPath) : MultiRatioNetwork.From(teacher, Ratios);
            var hsic = o.Hsic ? new HsicBottleneckLoss(10, new PwoaOptions().LambdaX, new PwoaOptions().LambdaY) : null;
            var objective = new RobustSandwichObjective(network, teacher, hsic: hsic);
            if (!File.Exists(multiPath))
            {
                var clock = Stopwatch.StartNew();
                new MultiRatioTrainer(new MultiRatioTrainingOptions { Epochs = o.Epochs, LearningRate = o.LearningRate, Seed = 0 })
                    .Train(network, train, progress: new Progress<MultiRatioEpoch>(e => Console.WriteLine(Inv($"robust all-in-one epoch {e.Epoch + 1}: loss {e.Loss:F3}, {e.Duration.TotalSeconds:F1} s"))),
                        objective: objective);
                seconds["all-in-one"] = clock.Elapsed.TotalSeconds;
                network.Save(multiPath);
                WriteSeconds(work, seconds);
            }
            foreach (double ratio in Ratios)
            {
                exported[ratio] = network.Export(ratio);
                if (ratio < 1) separate[ratio] = AdversariallyTrained(Inv($"separate-{ratio}.safetensors"), ChannelSelection.Leading(plan, ratio).SlicedSpec());
                separate[ratio].Eval();
                if (ratio == 1) continue;
                oneShot[ratio] = new ChannelMask(ChannelSelection.ByL1Norm(teacher, ratio)).Materialise(teacher);
                oneShot[ratio].Eval();
            }

            // PwoA's protocol on every model: clean on the whole test subset, PGD-10 (2/255 steps) and AutoAttack on the same seeded images.
            var evaluation = new PrunedModelEvaluation(Epsilon, o.AttackImages, o.AutoAttack, seed: 0, catalog: Techniques.Catalog);
            var attacked = evaluation.AttackSubset(test);
            var evaluationClock = Stopwatch.StartNew();
            Scores Score(string label, Classifier model)
            {
                var s = evaluation.Evaluate(label, model, 0, test, attacked, autoAttackState: Path.Combine(work, label + ".autoattack.json"));
                Console.WriteLine(Inv($"{label}: clean {s.CleanAccuracy:P2}, PGD-10 {s.PgdAccuracy:P2}, AutoAttack {(s.AutoAttackAccuracy is double a ? a.ToString("P2", CultureInfo.InvariantCulture) : "-")}"));
                return new Scores(s.CleanAccuracy, s.PgdAccuracy, s.AutoAttackAccuracy);
            }
            var rows = Ratios.Select(r =>
            {
                var separateScores = Score(Inv($"separate-{r}"), separate[r]);
                // At 100% the one-shot slice is the teacher itself: its scores, not a second evaluation.
                return new RatioRow(r, exported[r].ParameterCount, exported[r].Macs, Score(Inv($"all-in-one-{r}"), exported[r]), separateScores,
                    r == 1 ? separateScores : Score(Inv($"one-shot-{r}"), oneShot[r]));
            }).ToList();
            double evaluationSeconds = evaluationClock.Elapsed.TotalSeconds;
            long separateBytes = separate.Values.Sum(m => m.Network.state_dict().Values.Sum(t => t.numel() * t.element_size()));

            var result = new Result(o, MachineInfo.Current(), string.Join(" ", Runtime.CpuFeatures.Current.Extensions.Where(f => f.StartsWith("avx", StringComparison.Ordinal) || f == "fma")),
                rows, seconds.GetValueOrDefault("teacher.safetensors"), seconds.Where(kv => kv.Key.StartsWith("separate-", StringComparison.Ordinal)).Sum(kv => kv.Value),
                seconds.GetValueOrDefault("all-in-one"), evaluationSeconds, attacked.Count, network.SharedBytes, network.PerRatioBytes, separateBytes, objective.ToString(),
                Inv($"dotnet run -c Release --project benchmarks/Robustness.Benchmarks -- robust-all-in-one --per-class {o.PerClass} --test-per-class {o.TestPerClass} --width {o.Width} --adversarial-epochs {o.AdversarialEpochs} --epochs {o.Epochs} --lr {o.LearningRate} --hsic {(o.Hsic ? "on" : "off")} --attack-images {o.AttackImages} --autoattack {(o.AutoAttack ? "on" : "off")} --threads {o.Threads} --name {o.Name}"));
            Directory.CreateDirectory(resultsDir);
            File.WriteAllText(Path.Combine(resultsDir, o.Name + ".json"), JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true }));
            File.WriteAllText(Path.Combine(resultsDir, o.Name + ".md"), Markdown(result));
            Console.WriteLine($"wrote {Path.Combine(resultsDir, o.Name)}.{{json,md}}");
            return 0;
        }
        finally
        {
            foreach (var m in separate.Values.Concat(exported.Values).Concat(oneShot.Values)) m.Dispose();
        }
    }

    // Training times survive a resume: they are kept beside the models.
    private static Dictionary<string, double> ReadSeconds(string work)
    {
        string path = Path.Combine(work, "seconds.json");
        return File.Exists(path) ? JsonSerializer.Deserialize<Dictionary<string, double>>(File.ReadAllText(path))! : [];
    }

    private static void WriteSeconds(string work, Dictionary<string, double> seconds) =>
        File.WriteAllText(Path.Combine(work, "seconds.json"), JsonSerializer.Serialize(seconds));

    private static string Markdown(Result r)
    {
        var o = r.Settings;
        var md = new StringBuilder();
        md.AppendLine("# Robust All-in-One on CIFAR-10, CPU scale (efficiency module)");
        md.AppendLine();
        md.AppendLine(Inv($"Machine: {r.Machine.Cpu}, {r.Machine.Cores} cores, {r.Machine.Os}, {r.Machine.DotNet}, {r.Machine.Date}; CPU flags: {r.CpuFlags}; {o.Threads} threads."));
        md.AppendLine();
        md.AppendLine(Inv($"Data: {o.PerClass * 10} CIFAR-10 training images ({o.PerClass} per class), {o.TestPerClass * 10} test images. Teacher: ResNet-18 width {o.Width} (architecture spec), PGD-AT (Madry: l-inf 8/255, 7 steps of 2/255, random start, crafted in training mode), SGD lr 0.1 cosine, momentum 0.9, wd 5e-4, batch 128, crop-flip, {o.AdversarialEpochs} epochs, seed 0. Robust All-in-One: `MultiRatioNetwork` (ratios 100/75/50/25%, nested, batch norm per ratio) started from the teacher's weights and trained {o.Epochs} epochs (lr {o.LearningRate} cosine, sandwich draws: full, smallest, one random middle ratio) with `{r.Objective}`: no adversarial examples. Separate: each narrower width trained alone with the teacher's PGD-AT recipe (the 100% separate model is the teacher). One-shot: the teacher sliced by L1 norm, no retraining."));
        md.AppendLine();
        md.AppendLine(Inv($"Evaluation (PwoA's protocol, `PrunedModelEvaluation`): clean accuracy on the {o.TestPerClass * 10} test images; PGD-10 (l-inf 8/255, steps of 2/255, random start, seed 0) and {(o.AutoAttack ? "the standard AutoAttack-style evaluation (APGD-CE, APGD-T, FAB-T, Square 5000)" : "no AutoAttack (off)")} on the same {r.AttackedImages} seeded test images for every model."));
        md.AppendLine();
        md.AppendLine("| channels kept | parameters | MACs / image | All-in-One clean | All-in-One PGD-10 | All-in-One AutoAttack | separate PGD-AT clean | separate PGD-10 | separate AutoAttack | one-shot slice clean | one-shot PGD-10 | one-shot AutoAttack |");
        md.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var row in r.Ratios)
            md.AppendLine(Inv($"| {row.Ratio:P0} | {row.Parameters:N0} | {row.Macs:N0} | {Cells(row.AllInOne)} | {Cells(row.Separate)} | {Cells(row.OneShot)} |"));
        md.AppendLine();
        md.AppendLine(Inv($"Storage: All-in-One {r.SharedBytes / 1024.0:N0} KiB shared + {r.PerRatioBytes / 1024.0:N1} KiB of per-ratio batch norm ({(double)(r.SharedBytes + r.PerRatioBytes) / r.SeparateBytes:P0} of the {r.SeparateBytes / 1024.0:N0} KiB the four PGD-AT models take). Training wall time: teacher {r.TeacherSeconds / 60:F1} min, the three narrower PGD-AT models {r.SeparateSeconds / 60:F1} min, robust All-in-One {r.AllInOneSeconds / 60:F1} min; evaluation {r.EvaluationSeconds / 60:F1} min."));
        md.AppendLine();
        md.AppendLine($"Produced by: `{r.Command}`");
        return md.ToString();
    }

    private static string Cells(Scores s) =>
        Inv($"{s.Clean:P2} | {s.Pgd10:P2} | {(s.AutoAttack is double a ? a.ToString("P2", CultureInfo.InvariantCulture) : "-")}");

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
