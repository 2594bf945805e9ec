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
/// Channel slicing on CIFAR-10 at CPU scale (issue 14, the efficiency module): trains a ResNet-18 (width 16) teacher on a
/// class-balanced subset of the CIFAR-10 JPEGs, slices it to 75%, 50% and 25% of its channels with each selector
/// (L1 norm, leading channels), and records test accuracy right after slicing and after a short clean fine-tuning,
/// parameters, MACs and measured forward latency of the sliced dense model; as the upper reference, the same
/// architecture at the sliced width trained from scratch with the teacher's recipe and epochs. Writes
/// benchmarks/results/slicing-cifar10-cpu.{json,md}.
/// </summary>
public static class SlicingBenchmark
{
    public sealed record Options(int PerClass, int TestPerClass, int Width, int Epochs, int FineTuneEpochs, int Threads, string Tarball, string Name);

    public sealed record Row(string Model, double Ratio, string Method, long Parameters, long Macs, double? SlicedAccuracy, double Accuracy,
        double Batch1MedianMs, double Batch1IqrMs, double Batch64MedianMs, double Batch64IqrMs, double TrainSeconds);

    public sealed record Result(Options Settings, MachineInfo Machine, string CpuFlags, IReadOnlyList<Row> Rows, string Command);

    private static readonly double[] Ratios = [0.75, 0.5, 0.25];

    public static int Run(string resultsDir, Options o)
    {
        torch.set_num_threads(o.Threads);
        string work = Path.Combine(Path.GetTempPath(), "robustness-slicing-bench");
        var (train, test) = CifarJpegSubset.Load(o.Tarball, Path.Combine(work, "jpeg"), o.PerClass, o.TestPerClass);
        var recipe = TrainingOptions.ForSep(o.Epochs) with
        {
            Augmentation = ComposedAugmentation.Cifar(), Seed = 0, Checkpoints = CheckpointSchedule.None, EvaluationInterval = o.Epochs, ProgressInterval = int.MaxValue,
        };
        double Accuracy(Classifier model) => new Evaluator(256).Evaluate(model, test).Accuracy;

        var models = new List<(Row Row, Classifier Model)>();
        using var teacher = Classifier.Create(new ModelSpec("resnet18", 10, o.Width, ImageSize: 32), Normalization.Cifar10, train.ClassNames, seed: 0);
        var teacherRun = new Trainer(recipe).Train(teacher, train);
        teacher.Eval();
        models.Add((new Row($"resnet18 w{o.Width}", 1, "dense teacher", teacher.ParameterCount, teacher.Macs, null, Accuracy(teacher), 0, 0, 0, 0,
            teacherRun.WallTime.TotalSeconds), teacher));
        Console.WriteLine(Inv($"teacher: {models[0].Row.Accuracy:P2}, {teacherRun.WallTime.TotalSeconds / o.Epochs:F1} s/epoch"));

        var owned = new List<Classifier>();
        try
        {
            foreach (double ratio in Ratios)
            {
                foreach (var selector in ChannelSelectors.All)
                {
                    var sliceOnly = new ChannelSlicer(new ChannelSlicingOptions { Ratio = ratio }, selector).Slice(teacher);
                    double slicedAccuracy = Accuracy(sliceOnly.Sliced);
                    sliceOnly.Sliced.Dispose();
                    var tuned = new ChannelSlicer(new ChannelSlicingOptions { Ratio = ratio, FineTuneEpochs = o.FineTuneEpochs, LearningRate = 0.01, Seed = 0 }, selector)
                        .Slice(teacher, train);
                    owned.Add(tuned.Sliced);
                    var row = new Row($"resnet18 w{o.Width} sliced", ratio, $"{selector.Name} + {o.FineTuneEpochs} epochs", tuned.Sliced.ParameterCount, tuned.Sliced.Macs,
                        slicedAccuracy, Accuracy(tuned.Sliced), 0, 0, 0, 0, tuned.WallTime.TotalSeconds);
                    models.Add((row, tuned.Sliced));
                    Console.WriteLine(Inv($"{ratio:P0} {selector.Name}: sliced {slicedAccuracy:P2}, fine-tuned {row.Accuracy:P2}, {row.Macs:N0} MACs"));
                }
                // The same architecture at the sliced width, trained from scratch: the spec of the leading slice (every group
                // ceil(ratio x C)), so parameters and MACs match the sliced rows exactly.
                var spec = ChannelSelection.Leading(ChannelSelection.PlanOf(teacher), ratio).SlicedSpec();
                var scratch = Classifier.Create(spec.ToModelSpec(10, 3, 32), Normalization.Cifar10, train.ClassNames, seed: 0);
                owned.Add(scratch);
                var run = new Trainer(recipe).Train(scratch, train);
                scratch.Eval();
                var scratchRow = new Row($"resnet18 w{o.Width} x{ratio:0.##} from scratch", ratio, $"{o.Epochs} epochs", scratch.ParameterCount, scratch.Macs, null,
                    Accuracy(scratch), 0, 0, 0, 0, run.WallTime.TotalSeconds);
                models.Add((scratchRow, scratch));
                Console.WriteLine(Inv($"{ratio:P0} from scratch: {scratchRow.Accuracy:P2}"));
            }

            // Latency in interleaved rounds (every model once per round), the first round left out.
            var times = models.Select(_ => (Batch1: new List<double>(), Batch64: new List<double>())).ToList();
            for (int round = 0; round < 4; round++)
                for (int i = 0; i < models.Count; i++)
                {
                    var samples1 = LatencyHarness.TimeForwards(models[i].Model, 1, warmup: 3, repeats: 7);
                    var samples64 = LatencyHarness.TimeForwards(models[i].Model, 64, warmup: 3, repeats: 7);
                    if (round == 0) continue;
                    times[i].Batch1.AddRange(samples1);
                    times[i].Batch64.AddRange(samples64);
                }
            var rows = models.Select((m, i) =>
            {
                var b1 = LatencyMeasurement.From(1, times[i].Batch1);
                var b64 = LatencyMeasurement.From(64, times[i].Batch64);
                return m.Row with { Batch1MedianMs = b1.MedianMs, Batch1IqrMs = b1.IqrMs, Batch64MedianMs = b64.MedianMs, Batch64IqrMs = b64.IqrMs };
            }).ToList();

            var result = new Result(o, MachineInfo.Current(), string.Join(" ", Runtime.CpuFeatures.Current.Extensions.Where(f => f.StartsWith("avx", StringComparison.Ordinal) || f == "fma")),
                rows, Inv($"dotnet run -c Release --project benchmarks/Robustness.Benchmarks -- slicing --per-class {o.PerClass} --test-per-class {o.TestPerClass} --width {o.Width} --epochs {o.Epochs} --fine-tune-epochs {o.FineTuneEpochs} --threads {o.Threads} --name {o.Name}"));
            Directory.CreateDirectory(resultsDir);
            File.WriteAllText(Path.Combine(resultsDir, o.Name + ".json"), JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true }));
            File.WriteAllText(Path.Combine(resultsDir, o.Name + ".md"), Markdown(result));
            Console.WriteLine($"wrote {Path.Combine(resultsDir, o.Name)}.{{json,md}}");
            return 0;
        }
        finally
        {
            foreach (var model in owned) model.Dispose();
        }
    }

    private static string Markdown(Result r)
    {
        var o = r.Settings;
        var md = new StringBuilder();
        md.AppendLine("# Channel slicing on CIFAR-10, CPU scale (efficiency module)");
        md.AppendLine();
        md.AppendLine(Inv($"Machine: {r.Machine.Cpu}, {r.Machine.Cores} cores, {r.Machine.Os}, {r.Machine.DotNet}, {r.Machine.Date}; CPU flags: {r.CpuFlags}; {o.Threads} threads."));
        md.AppendLine();
        md.AppendLine(Inv($"Data: {o.PerClass * 10} CIFAR-10 training images ({o.PerClass} per class), {o.TestPerClass * 10} test images. Teacher and from-scratch models: SEP recipe (SGD lr 0.1, warm-up and x0.1 steps, momentum 0.9, wd 5e-4, batch 128), crop-flip, {o.Epochs} epochs, seed 0. Slicing: `ChannelSlicer` keeps the ratio of every channel group (a residual stream's channels are chosen once for every block that adds to it), slices a dense `arch-spec` model, then fine-tunes {o.FineTuneEpochs} epochs (SGD lr 0.01 cosine, crop-flip)."));
        md.AppendLine();
        md.AppendLine("| model | channels kept | method | parameters | MACs / image | accuracy right after slicing | test accuracy | batch 1 median (IQR), ms | batch 64 median (IQR), ms | batch-64 speed-up | training s |");
        md.AppendLine("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        double baseline = r.Rows[0].Batch64MedianMs;
        foreach (var row in r.Rows)
            md.AppendLine(Inv($"| {row.Model} | {row.Ratio:P0} | {row.Method} | {row.Parameters:N0} | {row.Macs:N0} | {(row.SlicedAccuracy is double s ? s.ToString("P2", CultureInfo.InvariantCulture) : "")} | {row.Accuracy:P2} | {row.Batch1MedianMs:F2} ({row.Batch1IqrMs:F2}) | {row.Batch64MedianMs:F1} ({row.Batch64IqrMs:F1}) | {baseline / row.Batch64MedianMs:F2}x | {row.TrainSeconds:F0} |"));
        md.AppendLine();
        md.AppendLine("Latency: 4 interleaved rounds over all models, each 3 warm-up and 7 timed forwards per model and batch size; the first round is left out; median and interquartile range of the 21 timings left; eval mode, no gradients, fixed threads. 'training s': the teacher's or scratch model's whole training, or slicing plus fine-tuning.");
        md.AppendLine();
        md.AppendLine($"Produced by: `{r.Command}`");
        return md.ToString();
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
