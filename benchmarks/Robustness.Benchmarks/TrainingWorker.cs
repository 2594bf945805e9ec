using System.Text.Json;
using Robustness.Data;
using Robustness.Models;
using Robustness.Training;
using TorchSharp;

namespace Robustness.Benchmarks;

/// <summary>
/// Measures the <see cref="Trainer"/> on one model, in its own process so peak memory is this model's alone.
/// Same work as benchmarks/reference/train_throughput.py: a seeded pool of 4 batches of random uint8 images,
/// CIFAR-10 normalisation inside the model, SGD lr 0.1 momentum 0.9 weight decay 5e-4, cross-entropy, no
/// augmentation. Prints one JSON line.
/// </summary>
public static class TrainingWorker
{
    public static int Run(string arch, int width, int batch, int warmupBatches, int timedBatches, int threads)
    {
        torch.set_num_threads(threads);
        var random = new Random(0);
        var pixels = new byte[batch * 4 * 3 * 32 * 32];
        random.NextBytes(pixels);
        var labels = Enumerable.Range(0, batch * 4).Select(_ => (long)random.Next(10)).ToArray();
        var pool = new ImageSet(pixels, labels, 3, 32, 32, SyntheticImageSet.AllClassNames);

        using var classifier = Classifier.Create(new ModelSpec(arch, 10, width), Normalization.Cifar10, seed: 0);
        var options = new TrainingOptions { BatchSize = batch, LearningRate = 0.1, Momentum = 0.9, WeightDecay = 5e-4, ProgressInterval = int.MaxValue };

        // Warm-up: one short run (allocator, kernels, JIT), then the timed run over whole passes of the pool.
        new Trainer(options with { Epochs = Math.Max(1, warmupBatches / 4) }).Train(classifier, pool);
        double rssBefore = ProcessMemory.ResidentMiB();
        int epochs = Math.Max(1, timedBatches / 4);
        var started = System.Diagnostics.Stopwatch.StartNew();
        new Trainer(options with { Epochs = epochs }).Train(classifier, pool);
        double seconds = started.Elapsed.TotalSeconds;
        double rssAfter = ProcessMemory.ResidentMiB();

        Console.WriteLine(JsonSerializer.Serialize(new
        {
            framework = "robustness",
            version = typeof(torch).Assembly.GetName().Version?.ToString(),
            arch, width, batch,
            threads = torch.get_num_threads(),
            timed_batches = epochs * 4,
            images_per_second = epochs * 4 * batch / seconds,
            rss_before_mb = rssBefore,
            rss_after_mb = rssAfter,
            peak_rss_mb = ProcessMemory.PeakMiB(),
            parameters = classifier.ParameterCount,
        }));
        return 0;
    }
}
