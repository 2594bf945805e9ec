using System.Diagnostics;
using Robustness.Validation;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Models;

/// <summary>How <see cref="LatencyHarness"/> measures: batch sizes, warm-up and timed forwards, rounds, threads.</summary>
public sealed record LatencyOptions
{
    /// <summary>Batch sizes to time (each >= 1); batch 1 is the latency a single request sees, a large batch the throughput.</summary>
    public IReadOnlyList<int> BatchSizes { get; init; } = [1, 64];

    /// <summary>Untimed forwards before each timed series (>= 0): kernel selection and allocation happen there.</summary>
    public int Warmup { get; init; } = 3;

    /// <summary>Timed forwards per batch size and round (>= 1).</summary>
    public int Repeats { get; init; } = 7;

    /// <summary>Rounds over the batch sizes (>= 1); the first is left out when there are several (a warm-up of the process).</summary>
    public int Rounds { get; init; } = 3;

    /// <summary>Intra-op threads during the measurement (restored afterwards); null = as configured.</summary>
    public int? Threads { get; init; }

    /// <summary>Throws naming the first option out of range; returns these options.</summary>
    public LatencyOptions Validate()
    {
        if (BatchSizes is null || BatchSizes.Count == 0) throw new ArgumentOutOfRangeException(nameof(BatchSizes), "At least one batch size is needed.");
        foreach (int b in BatchSizes) Require.AtLeast(b, 1, nameof(BatchSizes));
        Require.AtLeast(Warmup, 0, nameof(Warmup));
        Require.AtLeast(Repeats, 1, nameof(Repeats));
        Require.AtLeast(Rounds, 1, nameof(Rounds));
        if (Threads is int t) Require.AtLeast(t, 1, nameof(Threads));
        return this;
    }
}

/// <summary>Latency of one batch size: median and interquartile range of the timed forwards, in milliseconds.</summary>
/// <param name="BatchSize">Images per forward.</param>
/// <param name="MedianMs">Median time of one forward.</param>
/// <param name="IqrMs">Interquartile range of those times (the spread, robust to one slow run).</param>
/// <param name="Runs">Timed forwards the figures come from.</param>
public sealed record LatencyMeasurement(int BatchSize, double MedianMs, double IqrMs, int Runs)
{
    /// <summary>Images per second at the median.</summary>
    public double ImagesPerSecond => BatchSize / (MedianMs / 1000);

    /// <summary>The median and interquartile range of <paramref name="times"/> (ms; at least one).</summary>
    public static LatencyMeasurement From(int batchSize, IEnumerable<double> times)
    {
        ArgumentNullException.ThrowIfNull(times);
        var sorted = times.Order().ToArray();
        if (sorted.Length == 0) throw new ArgumentException("At least one time is needed.", nameof(times));
        double Quantile(double q) => sorted[(int)Math.Round(q * (sorted.Length - 1))];
        return new LatencyMeasurement(batchSize, Quantile(0.5), Quantile(0.75) - Quantile(0.25), sorted.Length);
    }
}

/// <summary>
/// Measures a classifier's forward latency as a module's models are compared: eval mode (restored), no gradients,
/// random images of the model's input size on its device, warm-up, interleaved rounds over the batch sizes, median
/// and interquartile range, a fixed thread count; on CUDA the device is synchronised before each clock is read.
/// </summary>
public static class LatencyHarness
{
    /// <summary>One <see cref="LatencyMeasurement"/> per batch size of <paramref name="options"/>.</summary>
    public static IReadOnlyList<LatencyMeasurement> Measure(Classifier classifier, LatencyOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        var o = (options ?? new LatencyOptions()).Validate();
        int threads = torch.get_num_threads();
        if (o.Threads is int wanted) torch.set_num_threads(wanted);
        try
        {
            using var mode = classifier.EvalMode();
            using var noGrad = torch.no_grad();
            var times = o.BatchSizes.ToDictionary(b => b, _ => new List<double>());
            for (int round = 0; round < o.Rounds; round++)
                foreach (int batch in o.BatchSizes)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var series = TimeForwards(classifier, batch, o.Warmup, o.Repeats);
                    if (round > 0 || o.Rounds == 1) times[batch].AddRange(series);
                }
            return o.BatchSizes.Select(b => LatencyMeasurement.From(b, times[b])).ToArray();
        }
        finally
        {
            if (o.Threads is not null) torch.set_num_threads(threads);
        }
    }

    /// <summary>
    /// One series: <paramref name="warmup"/> untimed and <paramref name="repeats"/> timed forwards (ms) of a batch of
    /// random images, in the classifier's current mode. For callers that interleave several models or configurations
    /// themselves and summarise with <see cref="LatencyMeasurement.From"/>.
    /// </summary>
    public static List<double> TimeForwards(Classifier classifier, int batch, int warmup, int repeats)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        Require.AtLeast(batch, 1, nameof(batch));
        Require.AtLeast(warmup, 0, nameof(warmup));
        Require.AtLeast(repeats, 1, nameof(repeats));
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var spec = classifier.Spec;
        using var generator = new Generator(1);
        var images = torch.rand([batch, spec.InputChannels, spec.ImageSize, spec.ImageSize], generator: generator).to(classifier.Device);
        bool cuda = classifier.Device.type == DeviceType.CUDA;
        for (int i = 0; i < warmup; i++) classifier.Forward(images).Dispose();
        if (cuda) torch.cuda.synchronize();
        var times = new List<double>(repeats);
        for (int i = 0; i < repeats; i++)
        {
            var clock = Stopwatch.StartNew();
            using var logits = classifier.Forward(images);
            if (cuda) torch.cuda.synchronize();
            times.Add(clock.Elapsed.TotalMilliseconds);
        }
        return times;
    }

}
