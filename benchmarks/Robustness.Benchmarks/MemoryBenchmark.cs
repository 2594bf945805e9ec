using System.Globalization;
using System.Text;
using Robustness.Data;
using Robustness.Models;
using Robustness.Training;

namespace Robustness.Benchmarks;

/// <summary>
/// Memory stays flat over thousands of batches: trains a SmallCnn through the Trainer for <c>batches</c> batches
/// (with augmentation, so every per-batch path runs), sampling the process RSS along the way. Writes
/// benchmarks/results/memory-cpu.md. A leak of one batch's tensors would show as steady growth.
/// </summary>
public static class MemoryBenchmark
{
    public static int Run(string resultsDir, int batches)
    {
        var set = SyntheticImageSet.Generate(512, seed: 1);
        using var classifier = Classifier.Create(new ModelSpec("small-cnn", 10, 8), ChannelStatistics.Of(set), set.ClassNames, seed: 0);
        const int batchSize = 32;
        int perEpoch = set.Count / batchSize;
        var samples = new List<(int Batch, double Rss)>();
        var options = new TrainingOptions
        {
            Epochs = (batches + perEpoch - 1) / perEpoch, BatchSize = batchSize, LearningRate = 0.05,
            Augmentation = ComposedAugmentation.Cifar(), ProgressInterval = 250,
        };
        var progress = new Progress(p => samples.Add((p.Epoch * p.BatchesPerEpoch + p.Batch, ProcessMemory.ResidentMiB())));
        new Trainer(options).Train(classifier, set, progress: progress);

        var afterWarmup = samples.Where(s => s.Batch >= 500).ToArray();
        double growth = afterWarmup[^1].Rss - afterWarmup[0].Rss;
        var md = new StringBuilder();
        var machine = MachineInfo.Current();
        md.AppendLine("# Memory over thousands of training batches (CPU)");
        md.AppendLine();
        md.AppendLine(Inv($"Machine: {machine.Cpu}, {machine.Cores} cores, {machine.Os}; measured {machine.Date}."));
        md.AppendLine(Inv($"SmallCnn w8, batch {batchSize}, crop+flip augmentation, {samples[^1].Batch} batches through the Trainer."));
        md.AppendLine($"Allocator: {Robustness.Runtime.HeapRetention.Status.Explanation}");
        md.AppendLine("Command: `dotnet benchmarks/Robustness.Benchmarks/bin/Release/net10.0/linux-x64/Robustness.Benchmarks.dll memory`.");
        md.AppendLine(Inv($"RSS growth from batch {afterWarmup[0].Batch} to {afterWarmup[^1].Batch}: {growth:F1} MiB (flat = within allocator noise, a few MiB)."));
        md.AppendLine();
        md.AppendLine("| batch | RSS MiB |");
        md.AppendLine("|---|---|");
        // One row about every 256 batches keeps the table readable.
        int lastRow = -256;
        foreach (var (b, rss) in samples)
        {
            if (b - lastRow < 256 && b != samples[^1].Batch) continue;
            md.AppendLine(Inv($"| {b} | {rss:F1} |"));
            lastRow = b;
        }
        Directory.CreateDirectory(resultsDir);
        File.WriteAllText(Path.Combine(resultsDir, "memory-cpu.md"), md.ToString());
        Console.WriteLine(md.ToString());
        return 0;
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private sealed class Progress(Action<TrainingProgress> handler) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => handler(value);
    }
}
