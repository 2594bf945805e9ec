using System.Globalization;
using System.Text;
using System.Text.Json;
using Robustness.Data;
using Robustness.Efficiency;
using Robustness.Masks;
using Robustness.Models;
using Robustness.Training;
using TorchSharp;

namespace Robustness.Benchmarks;

/// <summary>
/// All-in-One on CIFAR-10 at CPU scale (issue 16): one ResNet-18 (width 16) weight set trained for the channel ratios
/// 100/75/50/25% with the sandwich rule and per-ratio batch norm (the default mix of labels and in-place distillation,
/// and pure in-place distillation beside it), against separately trained models of the same widths
/// (the upper bound, same recipe and epochs) and one-shot slicing of the dense separate model (the lower bound); test
/// accuracy, MACs and latency per ratio; storage; then the latency of every ratio at emulated frequency levels (thread
/// count and duty-cycle throttle), the controller's choice per level for a target (the dense model's latency at full
/// speed plus 25%), and a switching trace against fixed dense and fixed smallest models. Writes
/// benchmarks/results/all-in-one-cifar10-cpu.{json,md}.
/// </summary>
public static class AllInOneBenchmark
{
    public sealed record Options(int PerClass, int TestPerClass, int Width, int Epochs, int Threads, int RequestBatch, string Tarball, string Name);

    public sealed record RatioRow(double Ratio, long Parameters, long Macs, double AllInOne, double PureDistillation, double Separate, double OneShotSlice, double RequestMedianMs);

    public sealed record LevelRow(string Level, IReadOnlyList<double> MedianMs, double Chosen, bool MeetsTarget);

    public sealed record PolicyRow(string Policy, double MeanMs, double StdMs, double MaxMs, int OverTarget, int Requests, double MeanAccuracy);

    public sealed record Result(Options Settings, MachineInfo Machine, string CpuFlags, IReadOnlyList<RatioRow> Ratios, long SharedBytes, long PerRatioBytes,
        long SeparateBytes, double AllInOneTrainSeconds, double SeparateTrainSeconds, double TargetMs, IReadOnlyList<LevelRow> Levels,
        IReadOnlyList<PolicyRow> Policies, IReadOnlyList<TraceRequest> Trace, string Command);

    private static readonly double[] Ratios = [1, 0.75, 0.5, 0.25];

    public static int Run(string resultsDir, Options o)
    {
        torch.set_num_threads(o.Threads);
        string work = Path.Combine(Path.GetTempPath(), "robustness-all-in-one-bench");
        var (train, test) = CifarJpegSubset.Load(o.Tarball, Path.Combine(work, "jpeg"), o.PerClass, o.TestPerClass);
        double Accuracy(Classifier model) => new Evaluator(256).Evaluate(model, test).Accuracy;
        var arch = ArchSpecs.ResNet18(o.Width);
        var plan = ChannelPlan.For(arch, 32);

        // All-in-One: one weight set for every ratio.
        using var start = Classifier.Create(arch.ToModelSpec(10, 3, 32), Normalization.Cifar10, train.ClassNames, seed: 0);
        using var network = MultiRatioNetwork.From(start, Ratios);
        var multi = new MultiRatioTrainer(new MultiRatioTrainingOptions { Epochs = o.Epochs, Seed = 0 })
            .Train(network, train, test, new Progress<MultiRatioEpoch>(e => Console.WriteLine(Inv($"all-in-one epoch {e.Epoch + 1}: loss {e.Loss:F3}, {e.Duration.TotalSeconds:F1} s"))));
        Console.WriteLine(Inv($"all-in-one: {string.Join(", ", Ratios.Select(r => $"{r}: {multi.TestAccuracy[r]:P2}"))}"));

        // The same with the sandwich rule's pure in-place distillation (drawn ratios learn only from the full width):
        // the measurement behind the default mix of labels and distillation.
        IReadOnlyDictionary<double, double> pure;
        using (var pureNetwork = MultiRatioNetwork.From(start, Ratios))
            pure = new MultiRatioTrainer(new MultiRatioTrainingOptions { Epochs = o.Epochs, Seed = 0, DistillationWeight = 1 }).Train(pureNetwork, train, test).TestAccuracy;
        Console.WriteLine(Inv($"pure in-place distillation: {string.Join(", ", Ratios.Select(r => $"{r}: {pure[r]:P2}"))}"));

        // Separate models of the same widths, same recipe (SGD lr 0.1 cosine, crop-flip, same epochs).
        var recipe = new TrainingOptions
        {
            Epochs = o.Epochs, BatchSize = 128, LearningRate = 0.1, Schedule = new CosineLearningRate(o.Epochs), Augmentation = ComposedAugmentation.Cifar(),
            Seed = 0, Checkpoints = CheckpointSchedule.None, EvaluationInterval = o.Epochs, ProgressInterval = int.MaxValue,
        };
        var separate = new Dictionary<double, Classifier>();
        double separateSeconds = 0;
        var exported = new Dictionary<double, Classifier>();
        try
        {
            foreach (double ratio in Ratios)
            {
                var spec = ChannelSelection.Leading(plan, ratio).SlicedSpec();
                var model = Classifier.Create(spec.ToModelSpec(10, 3, 32), Normalization.Cifar10, train.ClassNames, seed: 0);
                separate[ratio] = model;
                separateSeconds += new Trainer(recipe).Train(model, train).WallTime.TotalSeconds;
                model.Eval();
                Console.WriteLine(Inv($"separate {ratio}: {Accuracy(model):P2}"));
                exported[ratio] = network.Export(ratio);
            }

            // The lower bound: the dense separate model sliced to each ratio, no retraining.
            var oneShot = Ratios.ToDictionary(r => r, r =>
            {
                using var sliced = new ChannelMask(ChannelSelection.ByL1Norm(separate[1], r)).Materialise(separate[1]);
                return Accuracy(sliced);
            });

            var timer = new ThrottledForwardTimer(exported, batchSize: o.RequestBatch);
            var levels = FrequencyLevel.Grid([2, 1], [1, 0.75, 0.5]);
            var table = LatencyTable.Measure(timer, levels, Ratios, warmup: 3, repeats: 15);
            // The target: the dense model's median at full speed with 25% headroom; the controller decides by 90th percentiles.
            double target = 1.25 * table.MedianMs(levels[0], 1);
            var controller = new RatioController(table, target);
            var trace = SwitchingTrace.Run(timer, controller, levels.Concat(levels.Reverse().Skip(1)).Select(l => (l, 10)));
            var accuracyOf = Ratios.ToDictionary(r => r, r => multi.TestAccuracy[r]);
            var policies = trace.GroupBy(r => r.Policy).Select(g =>
            {
                var ms = g.Select(r => r.LatencyMs).ToArray();
                double mean = ms.Average();
                return new PolicyRow(g.Key, mean, Math.Sqrt(ms.Average(v => (v - mean) * (v - mean))), ms.Max(), ms.Count(v => v > target), ms.Length,
                    g.Average(r => accuracyOf[r.Ratio]));
            }).ToList();

            var rows = Ratios.Select(r => new RatioRow(r, exported[r].ParameterCount, exported[r].Macs, multi.TestAccuracy[r], pure[r], Accuracy(separate[r]), oneShot[r],
                table.MedianMs(levels[0], r))).ToList();
            var levelRows = levels.Select(l => { var (c, m) = controller.Choose(l); return new LevelRow(l.Name, [.. Ratios.Select(r => table.MedianMs(l, r))], c, m); }).ToList();
            long separateBytes = separate.Values.Sum(m => m.Network.state_dict().Values.Sum(t => t.numel() * t.element_size()));

            var result = new Result(o, MachineInfo.Current(), string.Join(" ", Runtime.CpuFeatures.Current.Extensions.Where(f => f.StartsWith("avx", StringComparison.Ordinal) || f == "fma")),
                rows, network.SharedBytes, network.PerRatioBytes, separateBytes, multi.WallTime.TotalSeconds, separateSeconds, target, levelRows, policies, trace,
                Inv($"dotnet run -c Release --project benchmarks/Robustness.Benchmarks -- all-in-one --per-class {o.PerClass} --test-per-class {o.TestPerClass} --width {o.Width} --epochs {o.Epochs} --threads {o.Threads} --request-batch {o.RequestBatch} --name {o.Name}"));
            Directory.CreateDirectory(resultsDir);
            File.WriteAllText(Path.Combine(resultsDir, o.Name + ".json"), JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true }));
            File.WriteAllText(Path.Combine(resultsDir, o.Name + ".md"), Markdown(result));
            Console.WriteLine($"wrote {Path.Combine(resultsDir, o.Name)}.{{json,md}}");
            return 0;
        }
        finally
        {
            foreach (var m in separate.Values.Concat(exported.Values)) m.Dispose();
        }
    }

    private static string Markdown(Result r)
    {
        var o = r.Settings;
        var md = new StringBuilder();
        md.AppendLine("# All-in-One on CIFAR-10, CPU scale (efficiency module)");
        md.AppendLine();
        md.AppendLine(Inv($"Machine: {r.Machine.Cpu}, {r.Machine.Cores} cores, {r.Machine.Os}, {r.Machine.DotNet}, {r.Machine.Date}; CPU flags: {r.CpuFlags}; {o.Threads} threads."));
        md.AppendLine();
        md.AppendLine(Inv($"Data: {o.PerClass * 10} CIFAR-10 training images ({o.PerClass} per class), {o.TestPerClass * 10} test images. Network: ResNet-18 width {o.Width} as an architecture spec. All-in-One: `MultiRatioNetwork` (ratios 100/75/50/25% of every channel group, nested; batch norm per ratio) trained with `MultiRatioTrainer` (sandwich rule: full width on labels, smallest + 1 random middle ratio each step, learning half from the labels and half from the full width's soft predictions, the default `DistillationWeight` 0.5; SGD lr 0.1 cosine, momentum 0.9, wd 5e-4, batch 128, crop-flip), {o.Epochs} epochs, seed 0. Pure in-place distillation: the same with `DistillationWeight` 1 (drawn ratios learn only from the full width, as in Yu and Huang's sandwich rule). Separate: each width trained alone with the same optimiser, schedule, augmentation and epochs. One-shot: the separate dense model sliced by L1 norm, no retraining."));
        md.AppendLine();
        md.AppendLine(Inv($"| channels kept | parameters | MACs / image | All-in-One accuracy | pure in-place distillation | separate models (upper bound) | one-shot slice (lower bound) | latency of a {o.RequestBatch}-image request, 2 threads, ms |"));
        md.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var row in r.Ratios)
            md.AppendLine(Inv($"| {row.Ratio:P0} | {row.Parameters:N0} | {row.Macs:N0} | {row.AllInOne:P2} | {row.PureDistillation:P2} | {row.Separate:P2} | {row.OneShotSlice:P2} | {row.RequestMedianMs:F2} |"));
        md.AppendLine();
        md.AppendLine(Inv($"Storage: All-in-One {r.SharedBytes / 1024.0:N0} KiB shared + {r.PerRatioBytes / 1024.0:N1} KiB of per-ratio batch norm ({(double)(r.SharedBytes + r.PerRatioBytes) / r.SeparateBytes:P0} of the {r.SeparateBytes / 1024.0:N0} KiB the four separate models take). Training wall time: All-in-One {r.AllInOneTrainSeconds / 60:F1} min, the four separate models {r.SeparateTrainSeconds / 60:F1} min."));
        md.AppendLine();
        md.AppendLine(Inv($"Emulated frequency levels (threads x clock factor; the factor is a duty-cycle throttle of the serving thread, see `FrequencyLevel`): median latency of a request of {r.Settings.RequestBatch} images per ratio in ms (15 requests per cell after 3 warm-up, interleaved), and the controller's choice for a target of {r.TargetMs:F2} ms (the dense model's median at the fastest level plus 25%; the controller picks the largest ratio whose 90th percentile meets it):"));
        md.AppendLine();
        md.AppendLine($"| level | {string.Join(" | ", r.Ratios.Select(x => Inv($"{x.Ratio:P0}")))} | controller |");
        md.AppendLine($"|---|{string.Concat(r.Ratios.Select(_ => "---:|"))}---|");
        foreach (var level in r.Levels)
            md.AppendLine(Inv($"| {level.Level} | {string.Join(" | ", level.MedianMs.Select(m => m.ToString("F2", CultureInfo.InvariantCulture)))} | {level.Chosen:P0}{(level.MeetsTarget ? "" : " (misses)")} |"));
        md.AppendLine();
        md.AppendLine("Switching trace: the levels from fastest to slowest and back, 10 requests each, every request served by each policy:");
        md.AppendLine();
        md.AppendLine("| policy | mean ms | std ms | max ms | requests over target | mean accuracy of the model served |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var p in r.Policies)
            md.AppendLine(Inv($"| {p.Policy} | {p.MeanMs:F2} | {p.StdMs:F2} | {p.MaxMs:F2} | {p.OverTarget} of {p.Requests} | {p.MeanAccuracy:P2} |"));
        md.AppendLine();
        md.AppendLine($"Produced by: `{r.Command}`");
        return md.ToString();
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
