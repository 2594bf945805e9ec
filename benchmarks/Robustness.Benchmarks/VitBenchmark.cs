using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Robustness.Attacks;
using Robustness.Attacks.Evaluation;
using Robustness.Data;
using Robustness.Models;
using Robustness.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Benchmarks;

/// <summary>
/// The ViT on CIFAR-10 at CPU scale (issue 14): trains a `vit` (width, depth, heads from the options; patch 4) on a
/// class-balanced subset of the CIFAR-10 JPEGs with the SEP training recipe (SGD, warm-up, crop-flip), records test
/// accuracy and seconds per epoch, robust accuracy under PGD-10 (l-inf 8/255, on the first 500 test images), then
/// measures forward latency (median and interquartile range of repeated runs in interleaved rounds after warm-up, batch 1 and batch 64, fixed threads)
/// and accuracy with token selection (TopAttentionTokens keeping a fraction of the patch tokens before blocks 2 and
/// 4): the token hook lowers MACs and measured latency. Writes benchmarks/results/vit-cifar10-cpu.{json,md}.
/// </summary>
public static class VitBenchmark
{
    public sealed record Options(int PerClass, int TestPerClass, int Width, int Depth, int Heads, int Epochs, int Threads, string Tarball, string Name);

    public sealed record LatencyRow(double KeepRatio, double TestAccuracy, long Macs, double Batch1MedianMs, double Batch1IqrMs, double Batch64MedianMs, double Batch64IqrMs);

    public sealed record Result(Options Settings, MachineInfo Machine, string CpuFlags, long Parameters, double TestAccuracy, double TrainAccuracy,
        double SecondsPerEpoch, double PgdAccuracy, int PgdImages, IReadOnlyList<LatencyRow> Latency, string Command);

    public static int Run(string resultsDir, Options o)
    {
        torch.set_num_threads(o.Threads);
        string work = Path.Combine(Path.GetTempPath(), "robustness-vit-bench");
        var (train, test) = CifarJpegSubset.Load(o.Tarball, Path.Combine(work, "jpeg"), o.PerClass, o.TestPerClass);
        var spec = new ModelSpec(VisionTransformer.Name, 10, o.Width, o.Depth, ImageSize: 32) { Parameters = ModelParameters.Empty.With("heads", o.Heads) };
        using var model = Classifier.Create(spec, Normalization.Cifar10, train.ClassNames, seed: 0);
        Console.WriteLine($"vit w{o.Width} d{o.Depth} h{o.Heads}: {model.ParameterCount:N0} parameters, {train.Count} training / {test.Count} test images, {o.Epochs} epochs, {o.Threads} threads");

        var options = TrainingOptions.ForSep(o.Epochs) with
        {
            Augmentation = ComposedAugmentation.Cifar(), Seed = 0, Checkpoints = CheckpointSchedule.None, EvaluationInterval = o.Epochs, ProgressInterval = int.MaxValue,
        };
        var training = new Trainer(options).Train(model, train, test, progress: new Progress<TrainingProgress>(p =>
        {
            if (p.Batch == p.BatchesPerEpoch) Console.WriteLine(Inv($"epoch {p.Epoch + 1}/{p.Epochs}: loss {p.Loss:F3}, {p.ImagesPerSecond:F0} img/s, elapsed {p.Elapsed:hh\\:mm\\:ss}"));
        }));
        double secondsPerEpoch = training.WallTime.TotalSeconds / o.Epochs;
        model.Eval();

        var attacked = test.Subset(Enumerable.Range(0, Math.Min(500, test.Count)).ToArray());
        var pgd = new RobustnessEvaluation(128).Evaluate(model, attacked, [new Pgd(new PgdOptions { Steps = 10, Seed = 0 })]);
        Console.WriteLine(Inv($"clean {training.Final.Test!.Accuracy:P2}, PGD-10 {pgd.Entries[0].RobustAccuracy:P2} on {attacked.Count} images, {secondsPerEpoch:F1} s/epoch"));

        var vit = (VisionTransformer)model.Network;
        var rows = new List<LatencyRow>();
        double[] keeps = [1.0, 0.7, 0.5, 0.3];
        ITokenSelector? Selector(double keep) => keep >= 1 ? null : new TopAttentionTokens(keep, new[] { 2, 4 }.Where(b => b < o.Depth));
        var accuracy = new Dictionary<double, (double Accuracy, long Macs)>();
        foreach (double keep in keeps)
        {
            vit.TokenSelector = Selector(keep);
            accuracy[keep] = (new Evaluator(256).Evaluate(model, test).Accuracy, model.Macs);
        }
        // Latency in interleaved rounds (every configuration once per round, 3 warm-up and 7 timed forwards each), so
        // a slow stretch of the machine falls on all configurations alike rather than on one.
        var times = keeps.ToDictionary(k => k, _ => (Batch1: new List<double>(), Batch64: new List<double>()));
        for (int round = 0; round < 4; round++)
            foreach (double keep in keeps)
            {
                vit.TokenSelector = Selector(keep);
                times[keep].Batch1.AddRange(LatencyHarness.TimeForwards(model, 1, warmup: 3, repeats: 7));
                times[keep].Batch64.AddRange(LatencyHarness.TimeForwards(model, 64, warmup: 3, repeats: 7));
            }
        foreach (double keep in keeps)
        {
            // Round 0 is a warm-up of the process (allocator, kernels per shape): left out.
            var b1 = LatencyMeasurement.From(1, times[keep].Batch1.Skip(7));
            var b64 = LatencyMeasurement.From(64, times[keep].Batch64.Skip(7));
            var (m1, s1, m64, s64) = (b1.MedianMs, b1.IqrMs, b64.MedianMs, b64.IqrMs);
            rows.Add(new LatencyRow(keep, accuracy[keep].Accuracy, accuracy[keep].Macs, m1, s1, m64, s64));
            Console.WriteLine(Inv($"keep {keep:P0}: accuracy {accuracy[keep].Accuracy:P2}, {accuracy[keep].Macs:N0} MACs, batch 1 {m1:F2} ms (IQR {s1:F2}), batch 64 {m64:F1} ms (IQR {s64:F1})"));
        }
        vit.TokenSelector = null;

        var result = new Result(o, MachineInfo.Current(), CpuFlags(), model.ParameterCount, training.Final.Test!.Accuracy, training.Final.TrainAccuracy,
            secondsPerEpoch, pgd.Entries[0].RobustAccuracy, attacked.Count, rows,
            Inv($"dotnet run -c Release --project benchmarks/Robustness.Benchmarks -- vit --per-class {o.PerClass} --test-per-class {o.TestPerClass} --width {o.Width} --depth {o.Depth} --heads {o.Heads} --epochs {o.Epochs} --threads {o.Threads} --name {o.Name}"));
        Directory.CreateDirectory(resultsDir);
        File.WriteAllText(Path.Combine(resultsDir, o.Name + ".json"), JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true }));
        File.WriteAllText(Path.Combine(resultsDir, o.Name + ".md"), Markdown(result));
        Console.WriteLine($"wrote {Path.Combine(resultsDir, o.Name)}.{{json,md}}");
        return 0;
    }

    // The AVX and FMA extensions the library's CPU probe reports (what decides the kernels).
    private static string CpuFlags() => string.Join(" ", Runtime.CpuFeatures.Current.Extensions.Where(f => f.StartsWith("avx", StringComparison.Ordinal) || f == "fma"));

    private static string Markdown(Result r)
    {
        var o = r.Settings;
        var md = new StringBuilder();
        md.AppendLine(Inv($"# ViT on CIFAR-10, CPU scale"));
        md.AppendLine();
        md.AppendLine(Inv($"Machine: {r.Machine.Cpu}, {r.Machine.Cores} cores, {r.Machine.Os}, .NET {r.Machine.DotNet}, {r.Machine.Date}; CPU flags: {r.CpuFlags}; {o.Threads} threads."));
        md.AppendLine();
        md.AppendLine(Inv($"Model: `vit` width {o.Width}, depth {o.Depth}, {o.Heads} heads, patch 4 (64 patch tokens + class token), {r.Parameters:N0} parameters. "));
        md.AppendLine(Inv($"Data: {o.PerClass * 10} CIFAR-10 training images ({o.PerClass} per class), {o.TestPerClass * 10} test images. Training: SEP recipe (SGD lr 0.1, warm-up and x0.1 steps, momentum 0.9, wd 5e-4, batch 128), crop-flip, {o.Epochs} epochs, seed 0."));
        md.AppendLine();
        md.AppendLine("| clean test accuracy | train accuracy | s/epoch | PGD-10 accuracy (l-inf 8/255) |");
        md.AppendLine("|---:|---:|---:|---:|");
        md.AppendLine(Inv($"| {r.TestAccuracy:P2} | {r.TrainAccuracy:P2} | {r.SecondsPerEpoch:F1} | {r.PgdAccuracy:P2} on {r.PgdImages} images |"));
        md.AppendLine();
        md.AppendLine("Token selection (`TopAttentionTokens`: keep the patch tokens the class token attended to most, before blocks 2 and 4; no retraining):");
        md.AppendLine();
        md.AppendLine("| tokens kept | test accuracy | MACs / image | batch 1 median (IQR), ms | batch 64 median (IQR), ms | batch 64 speed-up |");
        md.AppendLine("|---:|---:|---:|---:|---:|---:|");
        double baseline = r.Latency[0].Batch64MedianMs;
        foreach (var row in r.Latency)
            md.AppendLine(Inv($"| {row.KeepRatio:P0} | {row.TestAccuracy:P2} | {row.Macs:N0} | {row.Batch1MedianMs:F2} ({row.Batch1IqrMs:F2}) | {row.Batch64MedianMs:F1} ({row.Batch64IqrMs:F1}) | {baseline / row.Batch64MedianMs:F2}x |"));
        md.AppendLine();
        md.AppendLine("Latency: 4 interleaved rounds over the configurations, each 3 warm-up and 7 timed forwards per configuration and batch size; the first round is left out; median and interquartile range of the 21 timings left; eval mode, no gradients, fixed threads.");
        md.AppendLine();
        md.AppendLine($"Produced by: `{r.Command}`");
        return md.ToString();
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
