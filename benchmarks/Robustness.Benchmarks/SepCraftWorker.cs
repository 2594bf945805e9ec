using System.Diagnostics;
using System.Text.Json;
using Robustness.Data;
using Robustness.Models;
using Robustness.Protection;
using Robustness.Training;
using TorchSharp;

namespace Robustness.Benchmarks;

/// <summary>
/// The two halves of the SEP crafting benchmark's Robustness side. <see cref="Prepare"/> trains a CIFAR ResNet-18
/// briefly on the synthetic set, keeping one checkpoint per epoch on disk, and writes the images to craft and a
/// run description (sep-craft.json), so the PyTorch script (benchmarks/reference/sep_craft_throughput.py) crafts
/// from exactly the same weights and pixels. <see cref="Measure"/> runs the library's
/// <see cref="SelfEnsembleProtection"/> on them in its own process, writes the protected bytes and prints one JSON line.
/// </summary>
public static class SepCraftWorker
{
    public const string RunFile = "sep-craft.json";
    public const string ImagesFile = "images.safetensors";
    public const string CheckpointFolder = "checkpoints";

    /// <summary>Trains <paramref name="checkpoints"/> epochs (one snapshot each) and writes the run files.</summary>
    public static (double CleanAccuracy, long Parameters, double Seconds) Prepare(string workDir, string arch, int width, int checkpoints,
        int trainCount, int images, int iterations, int threads)
    {
        torch.set_num_threads(threads);
        Directory.CreateDirectory(workDir);
        var sets = SyntheticImageSet.TrainTest(trainCount, images, seed: 5);
        using var classifier = Classifier.Create(new ModelSpec(arch, 10, width), Normalization.Cifar10, seed: 0);
        var started = Stopwatch.StartNew();
        // A short run so the checkpoints differ from each other and are accurate, as SEP's source checkpoints are.
        using var set = CheckpointSet.Create(Path.Combine(workDir, CheckpointFolder));
        new Trainer(new TrainingOptions
        {
            BatchSize = 128, Epochs = checkpoints, LearningRate = 0.05, Momentum = 0.9, WeightDecay = 5e-4,
            Checkpoints = CheckpointSchedule.EveryEpoch, ProgressInterval = int.MaxValue,
        }).Train(classifier, sets.Train, checkpoints: set);
        double seconds = started.Elapsed.TotalSeconds;

        using var x = sets.Test.ToTensor();
        using var y = sets.Test.LabelsTensor(0, sets.Test.Count);
        SafeTensors.Save(Path.Combine(workDir, ImagesFile), new Dictionary<string, torch.Tensor> { ["images"] = x, ["labels"] = y });
        var run = new
        {
            checkpoint_files = set.Epochs.Select(e => Path.Combine(CheckpointFolder, DiskCheckpointSet.FileNameFor(e))).ToArray(),
            classes = 10, eps_levels = 8, step_levels = 1, iterations,
        };
        File.WriteAllText(Path.Combine(workDir, RunFile), JsonSerializer.Serialize(run));
        classifier.Eval();
        using var predicted = classifier.Predict(x);
        using var correct = predicted.eq(y).sum();
        return (correct.item<long>() / (double)images, classifier.ParameterCount, seconds);
    }

    /// <summary>
    /// SEP (K = every checkpoint of the work folder, T from the run file, eps 8/255, step 1/255) over all saved images
    /// in batches, after one untimed warm-up batch with T = 1; the timed work is the library's whole in-memory
    /// protection (<see cref="DataProtection.Protect"/>: crafting + quantising), as in the PyTorch script.
    /// </summary>
    /// <param name="variant">
    /// Ideas to measure (issue 18), '+'-separated, applied to the loaded checkpoints before the library crafts:
    /// <c>frozen</c> (parameters with requires_grad off), <c>channels-last</c> (4-D weights in NHWC strides, so oneDNN
    /// convolves channels-last without reorders); empty or <c>library</c>: the library as it is. Since SEP crafts
    /// channels-last itself where the kernel guard caps oneDNN (and restores plain weights after each batch),
    /// <c>channels-last</c> differs from the library only where the guard is not capping.
    /// </param>
    public static int Measure(string workDir, int batch, int threads, string outFile, string deviceName = "cpu", string variant = "")
    {
        torch.set_num_threads(threads);
        var device = Runtime.TorchDevices.Resolve(deviceName);
        using var run = JsonDocument.Parse(File.ReadAllText(Path.Combine(workDir, RunFile)));
        int iterations = run.RootElement.GetProperty("iterations").GetInt32();
        using var set = CheckpointSet.Open(Path.Combine(workDir, CheckpointFolder));
        var models = set.Epochs.Select(e => set.Load(e, device)).ToList();
        var flags = variant.Split('+', StringSplitOptions.RemoveEmptyEntries).Where(f => f != "library").ToHashSet();
        foreach (string flag in flags)
            if (flag is not ("frozen" or "channels-last")) throw new ArgumentException($"Unknown variant '{flag}': frozen, channels-last or library.", nameof(variant));
        bool? channelsLastOutput = null;
        if (flags.Contains("frozen"))
            foreach (var m in models) foreach (var p in m.Network.parameters()) p.requires_grad_(false);
        if (flags.Contains("channels-last"))
            channelsLastOutput = ToChannelsLast(models);
        try
        {
            var clean = ReadImages(Path.Combine(workDir, ImagesFile));
            var options = new SepOptions { Variant = SepVariant.Sep, Iterations = iterations, StepSize = 1.0 / 255, Epsilon = 8.0 / 255 };
            using (var warm = new SelfEnsembleProtection(models, options with { Iterations = 1 }))
                DataProtection.Protect(warm, clean.Subset(Enumerable.Range(0, Math.Min(batch, clean.Count)).ToArray()), batch, device);

            using var sep = new SelfEnsembleProtection(models, options);
            double rssBefore = ProcessMemory.ResidentMiB();
            var started = Stopwatch.StartNew();
            var protectedSet = DataProtection.Protect(sep, clean, batch, device);
            double seconds = started.Elapsed.TotalSeconds;
            File.WriteAllBytes(outFile, protectedSet.Pixels.ToArray());

            long passes = (long)clean.Count * models.Count * iterations;
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                framework = "robustness",
                variant = flags.Count == 0 ? "library" : string.Join('+', flags.Order()),
                channels_last_output = channelsLastOutput,
                onednn = OneDnnSwitch.Enabled,
                version = typeof(torch).Assembly.GetName().Version?.ToString(),
            kernel_guard = Runtime.KernelGuard.Status.State.ToString(),
                device = device.ToString(), images = clean.Count, checkpoints = models.Count, iterations, batch,
                threads = torch.get_num_threads(),
                seconds,
                images_per_second = clean.Count / seconds,
                passes_per_second = passes / seconds,
                gradient_calls = sep.GradientCalls,
                rss_before_mb = rssBefore,
                peak_rss_mb = ProcessMemory.PeakMiB(),
            }));
            return 0;
        }
        finally
        {
            foreach (var m in models) m.Dispose();
        }
    }

    // The library's channels-last weights (Runtime.ChannelsLast), kept for the rest of the process: libtorch runs a conv
    // whose weight has NHWC strides channels-last, and its output keeps those strides for the next layer. Returns
    // whether the first convolution's output really came out channels-last (non-contiguous in NCHW terms).
    internal static bool ToChannelsLast(IReadOnlyList<Classifier> models)
    {
        foreach (var m in models) Runtime.ChannelsLast.Weights(m); // not disposed: the layout stays for the measurement
        var first = models[0].Network.parameters().First(p => p.dim() == 4);
        using var x = torch.rand(2, first.shape[1], 8, 8);
        using var y = torch.nn.functional.conv2d(x, first, padding: [1, 1]);
        return !y.is_contiguous();
    }

    /// <summary>The float images of the work folder back as the uint8 <see cref="ImageSet"/> they were made from.</summary>
    public static ImageSet ReadImages(string path)
    {
        var (tensors, _) = SafeTensors.Load(path);
        using var images = tensors["images"];
        using var labels = tensors["labels"];
        using var bytes = images.mul(255).round().to(torch.ScalarType.Byte).contiguous();
        var shape = images.shape;
        return new ImageSet(bytes.bytes, labels.data<long>().ToArray(), (int)shape[1], (int)shape[2], (int)shape[3],
            SyntheticImageSet.AllClassNames);
    }
}
