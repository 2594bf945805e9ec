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
    /// <param name="channelsLast">
    /// Issue 18's idea for the Trainer: the 4-D weights get NHWC strides before training (as SEP crafts under the kernel
    /// guard's cap), so oneDNN convolves channels-last forward and backward without reorders; the optimizer's buffers
    /// are made from the gradients and keep their layout.
    /// </param>
    public static int Run(string arch, int width, int batch, int warmupBatches, int timedBatches, int threads, bool raw = false, bool channelsLast = false)
    {
        torch.set_num_threads(threads);
        var random = new Random(0);
        var pixels = new byte[batch * 4 * 3 * 32 * 32];
        random.NextBytes(pixels);
        var labels = Enumerable.Range(0, batch * 4).Select(_ => (long)random.Next(10)).ToArray();
        var pool = new ImageSet(pixels, labels, 3, 32, 32, SyntheticImageSet.AllClassNames);

        using var classifier = Classifier.Create(new ModelSpec(arch, 10, width), Normalization.Cifar10, seed: 0);
        bool? channelsLastOutput = channelsLast ? SepCraftWorker.ToChannelsLast([classifier]) : null;
        var options = new TrainingOptions { BatchSize = batch, LearningRate = 0.1, Momentum = 0.9, WeightDecay = 5e-4, ProgressInterval = int.MaxValue };

        // Warm-up: one short run (allocator, kernels, JIT), then the timed run over whole passes of the pool.
        // raw = the same steps written as a bare TorchSharp loop, to separate the Trainer's cost from TorchSharp's.
        Action<int> train = raw
            ? epochs => RawLoop(classifier, pool, batch, epochs * 4)
            : epochs => new Trainer(options with { Epochs = epochs }).Train(classifier, pool);
        train(Math.Max(1, warmupBatches / 4));
        double rssBefore = ProcessMemory.ResidentMiB();
        int epochs = Math.Max(1, timedBatches / 4);
        var started = System.Diagnostics.Stopwatch.StartNew();
        train(epochs);
        double seconds = started.Elapsed.TotalSeconds;
        double rssAfter = ProcessMemory.ResidentMiB();

        Console.WriteLine(JsonSerializer.Serialize(new
        {
            framework = raw ? "torchsharp-loop" : "robustness",
            channels_last_output = channelsLastOutput,
            version = typeof(torch).Assembly.GetName().Version?.ToString(),
            kernel_guard = Runtime.KernelGuard.Status.State.ToString(),
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

    /// <summary>The PyTorch script's loop, step for step, in plain TorchSharp.</summary>
    private static void RawLoop(Classifier classifier, ImageSet pool, int batch, int batches)
    {
        classifier.Train();
        using var optimizer = torch.optim.SGD(classifier.Network.parameters(), 0.1, 0.9, 0, 5e-4);
        using var images = pool.ToTensor();
        using var labels = pool.LabelsTensor(0, pool.Count);
        torch.Tensor? last = null;
        for (int i = 0; i < batches; i++)
        {
            using var scope = torch.NewDisposeScope();
            long start = i % 4 * batch;
            var x = images.narrow(0, start, batch);
            var y = labels.narrow(0, start, batch);
            optimizer.zero_grad();
            var loss = torch.nn.functional.cross_entropy(classifier.Forward(x), y);
            loss.backward();
            optimizer.step();
            if (i == batches - 1) last = loss.detach().MoveToOuterDisposeScope();
        }
        last?.item<float>();
        last?.Dispose();
    }
}
