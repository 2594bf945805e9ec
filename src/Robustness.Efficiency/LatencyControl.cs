using System.Diagnostics;
using Robustness.Models;
using Robustness.Validation;
using TorchSharp;

namespace Robustness.Efficiency;

/// <summary>
/// One operating point of the machine, emulating dynamic voltage and frequency scaling (DVFS) where the frequency cannot
/// be set: <see cref="Threads"/> intra-op threads (a real change of compute), and a clock <see cref="Factor"/> in (0, 1]
/// applied by a duty-cycle throttle of the worker (after a burst of compute of t seconds it idles t (1/f - 1), so the
/// request takes t / f, as the same work would at f times the clock). The throttle is an emulation and says so: it
/// scales compute time uniformly, while a real frequency change leaves memory-bound parts less affected.
/// </summary>
/// <param name="Name">A label (e.g. <c>2T@100%</c>).</param>
/// <param name="Threads">Intra-op threads (>= 1).</param>
/// <param name="Factor">Relative clock in (0, 1].</param>
public sealed record FrequencyLevel(string Name, int Threads, double Factor)
{
    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first field out of range; returns this.</summary>
    public FrequencyLevel Validate()
    {
        Require.AtLeast(Threads, 1, nameof(Threads));
        if (!(Factor > 0 && Factor <= 1)) throw new ArgumentOutOfRangeException(nameof(Factor), Factor, "Factor must be in (0, 1].");
        return this;
    }

    /// <summary>Levels for each thread count and clock factor, fastest first (e.g. 2 and 1 threads x 100%, 75%, 50%).</summary>
    public static IReadOnlyList<FrequencyLevel> Grid(IEnumerable<int> threads, IEnumerable<double> factors) =>
        [.. threads.OrderDescending().SelectMany(t => factors.OrderDescending().Select(f => new FrequencyLevel(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{t}T@{f * 100:0}%"), t, f).Validate()))];
}

/// <summary>What serves one request at a frequency level and how long it took (a real model on the CPU, or a fake clock in tests).</summary>
public interface IRequestTimer
{
    /// <summary>Serves one request with <paramref name="ratio"/>'s model at <paramref name="level"/>; returns its latency in milliseconds.</summary>
    double Serve(double ratio, FrequencyLevel level);
}

/// <summary>
/// Serves requests with real forward passes: each ratio's exported model on a batch of the model's input size, at the
/// level's thread count, throttled to its clock factor (<see cref="FrequencyLevel"/>). Restores the thread count.
/// </summary>
public sealed class ThrottledForwardTimer : IRequestTimer
{
    private readonly IReadOnlyDictionary<double, Classifier> _models;
    private readonly int _batchSize;

    /// <summary>Times the models by ratio on batches of <paramref name="batchSize"/> blank images.</summary>
    public ThrottledForwardTimer(IReadOnlyDictionary<double, Classifier> models, int batchSize = 1)
    {
        ArgumentNullException.ThrowIfNull(models);
        _models = models;
        _batchSize = Require.BatchSize(batchSize, nameof(batchSize));
    }

    // Thread.Sleep counts whole milliseconds (a sub-millisecond idle would be no idle at all): sleep the whole
    // milliseconds but one, then yield until the deadline.
    private static void IdleUntil(Stopwatch clock, double deadlineMs)
    {
        double left = deadlineMs - clock.Elapsed.TotalMilliseconds;
        if (left > 1.5) Thread.Sleep((int)(left - 1));
        while (clock.Elapsed.TotalMilliseconds < deadlineMs) Thread.Yield();
    }

    /// <inheritdoc />
    public double Serve(double ratio, FrequencyLevel level)
    {
        ArgumentNullException.ThrowIfNull(level);
        if (!_models.TryGetValue(ratio, out var model)) throw new ArgumentOutOfRangeException(nameof(ratio), ratio, "No model for this ratio.");
        int threads = torch.get_num_threads();
        try
        {
            torch.set_num_threads(level.Threads);
            var clock = Stopwatch.StartNew();
            LatencyHarness.TimeForwards(model, _batchSize, warmup: 0, repeats: 1);
            double compute = clock.Elapsed.TotalMilliseconds;
            if (level.Factor < 1) IdleUntil(clock, compute / level.Factor);
            return clock.Elapsed.TotalMilliseconds;
        }
        finally
        {
            torch.set_num_threads(threads);
        }
    }
}

/// <summary>
/// The median and 90th-percentile latency of each ratio at each level, measured through an <see cref="IRequestTimer"/>.
/// </summary>
public sealed class LatencyTable
{
    private readonly Dictionary<(string Level, double Ratio), double> _median = [];
    private readonly Dictionary<(string Level, double Ratio), double> _p90 = [];

    private LatencyTable(IReadOnlyList<FrequencyLevel> levels, IReadOnlyList<double> ratios)
    {
        Levels = levels;
        Ratios = ratios;
    }

    /// <summary>The levels measured.</summary>
    public IReadOnlyList<FrequencyLevel> Levels { get; }

    /// <summary>The ratios measured, largest first.</summary>
    public IReadOnlyList<double> Ratios { get; }

    /// <summary>Median latency in milliseconds of <paramref name="ratio"/> at <paramref name="level"/>.</summary>
    public double MedianMs(FrequencyLevel level, double ratio) => _median[(level.Name, ratio)];

    /// <summary>90th-percentile latency in milliseconds of <paramref name="ratio"/> at <paramref name="level"/>.</summary>
    public double P90Ms(FrequencyLevel level, double ratio) => _p90[(level.Name, ratio)];

    /// <summary>A table from known latencies (tests, or a table measured elsewhere); the 90th percentile defaults to the median.</summary>
    public static LatencyTable From(IReadOnlyList<FrequencyLevel> levels, IReadOnlyList<double> ratios, Func<FrequencyLevel, double, double> medianMs,
        Func<FrequencyLevel, double, double>? p90Ms = null)
    {
        var table = new LatencyTable(levels, [.. ratios.OrderDescending()]);
        foreach (var level in levels)
            foreach (double ratio in ratios)
            {
                table._median[(level.Name, ratio)] = medianMs(level, ratio);
                table._p90[(level.Name, ratio)] = (p90Ms ?? medianMs)(level, ratio);
            }
        return table;
    }

    private static double Quantile(IReadOnlyList<double> samples, double q)
    {
        var sorted = samples.Order().ToArray();
        double position = q * (sorted.Length - 1);
        int low = (int)Math.Floor(position), high = Math.Min(low + 1, sorted.Length - 1);
        return sorted[low] + (position - low) * (sorted[high] - sorted[low]);
    }

    /// <summary>Measures every ratio at every level: <paramref name="repeats"/> requests each after <paramref name="warmup"/>, in interleaved rounds.</summary>
    public static LatencyTable Measure(IRequestTimer timer, IReadOnlyList<FrequencyLevel> levels, IReadOnlyList<double> ratios, int warmup = 3, int repeats = 11)
    {
        ArgumentNullException.ThrowIfNull(timer);
        var samples = levels.SelectMany(l => ratios.Select(r => (l.Name, r))).ToDictionary(k => k, _ => new List<double>());
        foreach (var level in levels)
            foreach (double ratio in ratios)
                for (int i = 0; i < warmup; i++) timer.Serve(ratio, level);
        for (int i = 0; i < repeats; i++)
            foreach (var level in levels)
                foreach (double ratio in ratios)
                    samples[(level.Name, ratio)].Add(timer.Serve(ratio, level));
        return From(levels, ratios, (l, r) => Quantile(samples[(l.Name, r)], 0.5), (l, r) => Quantile(samples[(l.Name, r)], 0.9));
    }
}

/// <summary>
/// All-in-One's runtime rule: at each frequency level, serve with the largest ratio whose measured latency meets the
/// target (by default its 90th percentile, so that most requests do, not half); where none does, the smallest (the
/// target is then missed, and the decision says so).
/// </summary>
public sealed class RatioController
{
    /// <summary>A controller over <paramref name="table"/> for a latency target of <paramref name="targetMs"/> milliseconds.</summary>
    public RatioController(LatencyTable table, double targetMs, bool byMedian = false)
    {
        Table = table ?? throw new ArgumentNullException(nameof(table));
        TargetMs = Require.Positive(targetMs, nameof(targetMs));
        ByMedian = byMedian;
    }

    /// <summary>Decide by the median latency instead of the 90th percentile.</summary>
    public bool ByMedian { get; }

    /// <summary>The latency table decisions are made from.</summary>
    public LatencyTable Table { get; }

    /// <summary>The latency target in milliseconds.</summary>
    public double TargetMs { get; }

    /// <summary>The ratio to serve with at <paramref name="level"/>, and whether the table says it meets the target.</summary>
    public (double Ratio, bool MeetsTarget) Choose(FrequencyLevel level)
    {
        foreach (double ratio in Table.Ratios)
            if ((ByMedian ? Table.MedianMs(level, ratio) : Table.P90Ms(level, ratio)) <= TargetMs) return (ratio, true);
        return (Table.Ratios[^1], false);
    }
}

/// <summary>One served request of a switching trace.</summary>
/// <param name="Step">0-based request index.</param>
/// <param name="Level">The frequency level at the time.</param>
/// <param name="Policy">Which policy served it (<c>controller</c>, <c>fixed 100%</c>, ...).</param>
/// <param name="Ratio">The ratio served with.</param>
/// <param name="LatencyMs">The measured latency.</param>
public sealed record TraceRequest(int Step, string Level, string Policy, double Ratio, double LatencyMs);

/// <summary>
/// Replays a schedule of frequency levels (each held for a number of requests) and serves every request three ways:
/// with the controller's ratio, with the fixed full model, and with the fixed smallest model, measuring each request.
/// </summary>
public static class SwitchingTrace
{
    /// <summary>The requests of the three policies, in order.</summary>
    public static IReadOnlyList<TraceRequest> Run(IRequestTimer timer, RatioController controller, IEnumerable<(FrequencyLevel Level, int Requests)> schedule)
    {
        ArgumentNullException.ThrowIfNull(timer);
        ArgumentNullException.ThrowIfNull(controller);
        ArgumentNullException.ThrowIfNull(schedule);
        var requests = new List<TraceRequest>();
        double largest = controller.Table.Ratios[0], smallest = controller.Table.Ratios[^1];
        int step = 0;
        foreach (var (level, count) in schedule)
        {
            var (chosen, _) = controller.Choose(level);
            for (int i = 0; i < count; i++, step++)
            {
                requests.Add(new TraceRequest(step, level.Name, "controller", chosen, timer.Serve(chosen, level)));
                requests.Add(new TraceRequest(step, level.Name, Fixed(largest), largest, timer.Serve(largest, level)));
                requests.Add(new TraceRequest(step, level.Name, Fixed(smallest), smallest, timer.Serve(smallest, level)));
            }
        }
        return requests;
    }

    /// <summary>The policy name of a fixed ratio, e.g. <c>fixed 25%</c>.</summary>
    public static string Fixed(double ratio) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"fixed {ratio * 100:0}%");
}
