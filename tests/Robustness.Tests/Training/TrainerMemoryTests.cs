using System.Globalization;
using FluentAssertions;
using Robustness.Training;
using TorchSharp;
using Xunit;

namespace Robustness.Tests.Training;

/// <summary>Runs alone, so other tests' allocations do not show up in this process-wide measurement.</summary>
[CollectionDefinition(nameof(TrainerMemoryCollection), DisableParallelization = true)]
public sealed class TrainerMemoryCollection;

[Collection(nameof(TrainerMemoryCollection))]
public class TrainerMemoryTests
{
    [Fact]
    public void Memory_stays_flat_over_2000_training_batches()
    {
        var data = TinyQuadrants.Create(32, seed: 20);
        using var model = TinyQuadrants.Model(seed: 1);
        const int batchSize = 4, batchesPerEpoch = 8, epochs = 250; // 2,000 batches
        long? afterWarmup = null;
        long atEnd = 0;
        var progress = new SyncProgress<TrainingProgress>(p =>
        {
            int done = p.Epoch * p.BatchesPerEpoch + p.Batch;
            if (done == 400) afterWarmup = ResidentBytes();
            if (done == batchesPerEpoch * epochs) atEnd = ResidentBytes();
        });

        // One intra-op thread: these tiny batches gain nothing from more, and on a loaded machine spinning
        // OpenMP workers can make each op orders of magnitude slower. The collection runs alone, so this is safe.
        int threads = torch.get_num_threads();
        torch.set_num_threads(1);
        TrainingResult result;
        try
        {
            result = new Trainer(new TrainingOptions
            {
                Epochs = epochs, BatchSize = batchSize, LearningRate = 0.01, Seed = 1, ProgressInterval = batchesPerEpoch,
            }).Train(model, data, progress: progress);
        }
        finally
        {
            torch.set_num_threads(threads);
        }

        result.History.Should().HaveCount(epochs);
        afterWarmup.Should().NotBeNull();
        (atEnd - afterWarmup!.Value).Should().BeLessThan(50L * 1024 * 1024,
            string.Create(CultureInfo.InvariantCulture, $"RSS went from {afterWarmup / 1048576.0:F1} MB to {atEnd / 1048576.0:F1} MB"));
    }

    /// <summary>Resident set size after a full collection (so finalisable tensors left to the GC do not count).</summary>
    private static long ResidentBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        if (File.Exists("/proc/self/statm"))
        {
            string[] fields = File.ReadAllText("/proc/self/statm").Split(' ');
            return long.Parse(fields[1], CultureInfo.InvariantCulture) * Environment.SystemPageSize;
        }
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return process.WorkingSet64;
    }
}
