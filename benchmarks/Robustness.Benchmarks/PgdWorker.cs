using System.Diagnostics;
using System.Text.Json;
using Robustness.Attacks;
using Robustness.Data;
using Robustness.Models;
using Robustness.Training;
using TorchSharp;

namespace Robustness.Benchmarks;

/// <summary>
/// The two halves of the PGD-10 benchmark's Robustness side. <see cref="Prepare"/> trains a SmallCnn (CIFAR-10
/// normalisation) briefly on the synthetic set and writes the model and the attacked images as safetensors, so the
/// PyTorch script (benchmarks/reference/pgd_throughput.py) attacks exactly the same weights and pixels.
/// <see cref="Measure"/> runs the library's <see cref="Pgd"/> on them in its own process and prints one JSON line.
/// </summary>
public static class PgdWorker
{
    public const string ModelFile = "model.safetensors";
    public const string ImagesFile = "images.safetensors";

    /// <summary>Trains for <paramref name="epochs"/> passes over <paramref name="trainCount"/> images and writes both files.</summary>
    public static (double CleanAccuracy, long Parameters, double Seconds) Prepare(string workDir, int width, int trainCount, int epochs, int images, int threads)
    {
        torch.set_num_threads(threads);
        Directory.CreateDirectory(workDir);
        var sets = SyntheticImageSet.TrainTest(trainCount, images, seed: 3);
        using var classifier = Classifier.Create(new ModelSpec("small-cnn", 10, width), Normalization.Cifar10, seed: 0);
        var started = Stopwatch.StartNew();
        // Short training so the model is non-trivial (accurate on clean images), not a robust one.
        new Trainer(new TrainingOptions { BatchSize = 64, Epochs = epochs, LearningRate = 0.05, Momentum = 0.9, WeightDecay = 5e-4, ProgressInterval = int.MaxValue })
            .Train(classifier, sets.Train);
        double seconds = started.Elapsed.TotalSeconds;
        classifier.Eval();
        classifier.Save(Path.Combine(workDir, ModelFile));

        using var x = sets.Test.ToTensor();
        using var y = sets.Test.LabelsTensor(0, sets.Test.Count);
        SafeTensors.Save(Path.Combine(workDir, ImagesFile), new Dictionary<string, torch.Tensor> { ["images"] = x, ["labels"] = y });
        using var predicted = classifier.Predict(x);
        using var correct = predicted.eq(y).sum();
        return (correct.item<long>() / (double)images, classifier.ParameterCount, seconds);
    }

    /// <summary>
    /// PGD-10 (l-inf, 8/255, step 2/255, random start, every step taken) over all saved images in batches, after one
    /// untimed warm-up batch; the timed work is the attack plus the prediction on its output, as in the PyTorch script.
    /// </summary>
    public static int Measure(string workDir, int batch, int threads, bool stopOnSuccess = false)
    {
        torch.set_num_threads(threads);
        using var classifier = Classifier.Load(Path.Combine(workDir, ModelFile));
        classifier.Eval();
        var (tensors, _) = SafeTensors.Load(Path.Combine(workDir, ImagesFile));
        using var images = tensors["images"];
        using var labels = tensors["labels"];
        long count = images.shape[0];
        var pgd = new Pgd(new PgdOptions
        {
            Epsilon = 8.0 / 255, StepSize = 2.0 / 255, Steps = 10, RandomStart = true, Restarts = 1, StopOnSuccess = stopOnSuccess, Seed = 0,
        });

        long Robust(long start, long n)
        {
            using var scope = torch.NewDisposeScope();
            var x = images.narrow(0, start, n);
            var y = labels.narrow(0, start, n);
            var adversarial = pgd.Run(classifier, x, y);
            return classifier.Predict(adversarial).eq(y).sum().item<long>();
        }

        Robust(0, Math.Min(batch, count)); // warm-up: allocator, kernels, JIT
        double rssBefore = ProcessMemory.ResidentMiB();
        var started = Stopwatch.StartNew();
        long robust = 0;
        for (long start = 0; start < count; start += batch) robust += Robust(start, Math.Min(batch, count - start));
        double seconds = started.Elapsed.TotalSeconds;

        Console.WriteLine(JsonSerializer.Serialize(new
        {
            framework = "robustness",
            version = typeof(torch).Assembly.GetName().Version?.ToString(),
            images = count, batch,
            threads = torch.get_num_threads(),
            seconds,
            images_per_second = count / seconds,
            robust_accuracy = robust / (double)count,
            rss_before_mb = rssBefore,
            peak_rss_mb = ProcessMemory.PeakMiB(),
        }));
        return 0;
    }
}
