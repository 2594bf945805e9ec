using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Robustness.Data;
using Robustness.Models;
using Robustness.Protection;
using Robustness.Runtime;
using Robustness.Training;
using TorchSharp;

namespace Robustness.Benchmarks;

/// <summary>
/// Issue 18's scale table: SEP crafting time as the checkpoint count K, the iterations T, the image count and the image
/// size grow, one at a time from a base point, and the same images split into two shards crafted by two processes at
/// once (one thread each) against one process with both threads. The work is K x T x images x pixels, so the time
/// should grow linearly; the table gives each row's seconds per unit of work relative to the base row, so a row that is
/// not linear stands out. Every measurement is a fresh process (medians over the repeats, the rows rotating).
/// Writes benchmarks/results/sep-scale-cpu.{json,md}.
/// </summary>
public static class SepScaleBenchmark
{
    private sealed record Row(string Group, int K, int T, int Images, int Size, int Processes);

    private const int BaseK = 5, BaseT = 10, BaseImages = 128, BaseSize = 32, Batch = 128;

    public static int Run(string resultsDir, int threads, int repeats)
    {
        string workDir = Path.Combine(Path.GetTempPath(), $"robustness-sep-scale-bench-{Environment.ProcessId}");
        var (self, prefix) = WorkerProcess.Self();
        Row[] rows =
        [
            new("base", BaseK, BaseT, BaseImages, BaseSize, 1),
            new("K", 1, BaseT, BaseImages, BaseSize, 1),
            new("K", 15, BaseT, BaseImages, BaseSize, 1),
            new("T", BaseK, 5, BaseImages, BaseSize, 1),
            new("T", BaseK, 30, BaseImages, BaseSize, 1),
            new("images", BaseK, BaseT, 64, BaseSize, 1),
            new("images", BaseK, BaseT, 512, BaseSize, 1),
            new("size", BaseK, BaseT, BaseImages, 64, 1),
            new("size", BaseK, BaseT, BaseImages, 96, 1),
            new("shards", BaseK, BaseT, 256, BaseSize, 1),
            new("shards", BaseK, BaseT, 256, BaseSize, 2),
        ];
        try
        {
            int maxK = rows.Max(r => r.K), maxImages = rows.Max(r => r.Images);
            var (clean, parameters, _) = SepCraftWorker.Prepare(workDir, "resnet18", 16, maxK, 1024, maxImages, BaseT, threads);
            var seconds = rows.ToDictionary(r => r, _ => new List<double>());
            for (int repeat = 0; repeat < repeats; repeat++)
                for (int i = 0; i < rows.Length; i++)
                {
                    var row = rows[(i + repeat) % rows.Length];
                    double s = Measure(self, prefix, workDir, row, threads);
                    seconds[row].Add(s);
                    Console.WriteLine(Inv($"{Describe(row)}: {s:F1} s"));
                }
            Write(resultsDir, rows, seconds, threads, repeats, parameters, clean);
            return 0;
        }
        finally
        {
            if (Directory.Exists(workDir)) Directory.Delete(workDir, recursive: true);
        }
    }

    // The row's processes start together, the machine's threads split between them (one process: all of them); the
    // time is from the first one's timed start to the last one's end, as the workers report them.
    private static double Measure(string self, string[] prefix, string workDir, Row row, int threads)
    {
        int each = Math.Max(1, threads / row.Processes);
        var tasks = Enumerable.Range(0, row.Processes)
            .Select(shard => Task.Run(() => WorkerProcess.Run(self, [.. prefix, "sep-scale-worker", workDir, Inv(row.K), Inv(row.T), Inv(row.Images), Inv(row.Size), Inv(each), Inv(shard), Inv(row.Processes)])))
            .ToArray();
        Task.WaitAll(tasks);
        double start = tasks.Min(t => t.Result.GetProperty("start_unix_ms").GetDouble());
        double end = tasks.Max(t => t.Result.GetProperty("end_unix_ms").GetDouble());
        return (end - start) / 1000;
    }

    /// <summary>
    /// One measurement in its own process: SEP with the first <paramref name="k"/> checkpoints, <paramref name="t"/>
    /// iterations, on shard <paramref name="shard"/> of <paramref name="shards"/> of the first <paramref name="images"/>
    /// images, resized (bilinear) to <paramref name="size"/> pixels; the CIFAR ResNet-18's global pooling takes any size.
    /// After an untimed warm-up batch with T = 1; the timed work is <see cref="DataProtection.Protect"/>.
    /// </summary>
    public static int Worker(string workDir, int k, int t, int images, int size, int threads, int shard, int shards)
    {
        torch.set_num_threads(threads);
        using var set = CheckpointSet.Open(Path.Combine(workDir, SepCraftWorker.CheckpointFolder));
        if (k > set.Epochs.Count) throw new ArgumentOutOfRangeException(nameof(k), k, $"The work folder holds {set.Epochs.Count} checkpoints.");
        var models = set.Epochs.Take(k).Select(e => set.Load(e)).ToList();
        try
        {
            var all = SepCraftWorker.ReadImages(Path.Combine(workDir, SepCraftWorker.ImagesFile));
            int from = images * shard / shards, to = images * (shard + 1) / shards;
            var clean = Resize(all.Subset(Enumerable.Range(from, to - from).ToArray()), size);
            var options = new SepOptions { Variant = SepVariant.Sep, Iterations = t, StepSize = 1.0 / 255, Epsilon = 8.0 / 255 };
            using (var warm = new SelfEnsembleProtection(models, options with { Iterations = 1 }))
                DataProtection.Protect(warm, clean.Subset(Enumerable.Range(0, Math.Min(Batch, clean.Count)).ToArray()), Batch);
            using var sep = new SelfEnsembleProtection(models, options);
            double startMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var clock = Stopwatch.StartNew();
            DataProtection.Protect(sep, clean, Batch);
            double seconds = clock.Elapsed.TotalSeconds;
            double endMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                k, t, images = clean.Count, size, threads = torch.get_num_threads(), shard, shards, seconds,
                passes_per_second = (double)clean.Count * k * t / seconds, start_unix_ms = startMs, end_unix_ms = endMs,
                kernel_guard = KernelGuard.Status.State.ToString(), peak_rss_mb = ProcessMemory.PeakMiB(),
            }));
            return 0;
        }
        finally
        {
            foreach (var m in models) m.Dispose();
        }
    }

    private static ImageSet Resize(ImageSet images, int size)
    {
        if (images.Height == size && images.Width == size) return images;
        using var scope = torch.NewDisposeScope();
        var x = torch.nn.functional.interpolate(images.ToTensor(), [size, size], mode: torch.InterpolationMode.Bilinear, align_corners: false);
        // Scalars held in locals for the native calls (README, "Temporary Scalars").
        using var levels = 255.0.ToScalar();
        using var zero = 0.0.ToScalar();
        var bytes = x.mul(levels).round().clamp(zero, levels).to(torch.ScalarType.Byte).contiguous();
        return new ImageSet(bytes.bytes, images.Labels, images.Channels, size, size, images.ClassNames);
    }

    private static void Write(string resultsDir, Row[] rows, Dictionary<Row, List<double>> seconds, int threads, int repeats, long parameters, double clean)
    {
        Directory.CreateDirectory(resultsDir);
        File.WriteAllText(Path.Combine(resultsDir, "sep-scale-cpu.json"), JsonSerializer.Serialize(new
        {
            benchmark = "sep-scale-cpu", machine = MachineInfo.Current(), cpu_extensions = CpuFeatures.Current.Extensions, threads, repeats, batch = Batch,
            model = new { arch = "resnet18", width = 16, parameters, clean_accuracy_last = clean, input_size = BaseSize },
            rows = rows.Select(r => new { r.Group, r.K, r.T, r.Images, r.Size, r.Processes, seconds = seconds[r], median = KernelGuardBenchmark.Median(seconds[r]) }),
        }, new JsonSerializerOptions { WriteIndented = true }));
        Report(resultsDir);
    }

    /// <summary>Writes sep-scale-cpu.md from sep-scale-cpu.json (<c>sep-scale --report</c> redraws it without measuring).</summary>
    public static int Report(string resultsDir)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(resultsDir, "sep-scale-cpu.json")));
        var root = json.RootElement;
        var machine = root.GetProperty("machine");
        int threads = root.GetProperty("threads").GetInt32(), repeats = root.GetProperty("repeats").GetInt32();
        var rows = root.GetProperty("rows").EnumerateArray().Select(r => (
            Row: new Row(r.GetProperty("Group").GetString()!, r.GetProperty("K").GetInt32(), r.GetProperty("T").GetInt32(), r.GetProperty("Images").GetInt32(),
                r.GetProperty("Size").GetInt32(), r.GetProperty("Processes").GetInt32()),
            Seconds: r.GetProperty("seconds").EnumerateArray().Select(v => v.GetDouble()).ToList(),
            Median: r.GetProperty("median").GetDouble())).ToList();
        // The network's work: images of another size are crafted through a view resized to the model's input size
        // (CraftingViews), so the checkpoints always see 32x32 and the size rows show only the larger iterate's cost.
        double Work(Row r) => (double)r.K * r.T * r.Images;
        var baseRow = rows[0];
        double baseUnit = baseRow.Median / Work(baseRow.Row);

        var md = new StringBuilder();
        md.AppendLine("# SEP crafting: how the time grows (CPU)").AppendLine();
        md.AppendLine(Inv($"Machine: {machine.GetProperty("Cpu").GetString()}, {machine.GetProperty("Cores").GetInt32()} cores, {machine.GetProperty("Os").GetString()}, {machine.GetProperty("DotNet").GetString()}; CPU extensions (CPUID): {string.Join(' ', root.GetProperty("cpu_extensions").EnumerateArray().Select(e => e.GetString()))}; {machine.GetProperty("Date").GetString()}."));
        md.AppendLine(Inv($"Work: SEP (eps 8/255, step 1/255) with the checkpoints of a ResNet-18 w16 ({root.GetProperty("model").GetProperty("parameters").GetInt64():N0} parameters, input 32x32) trained one epoch per checkpoint on 1,024 synthetic images; batches of {Batch}; {threads} threads per single process; {repeats} fresh processes per row, rotating; medians."));
        md.AppendLine(Inv($"Base: K = {BaseK}, T = {BaseT}, {BaseImages} images of {BaseSize}x{BaseSize}; each group changes one of them. Larger images are the synthetic images resized bilinearly."));
        md.AppendLine("Network work = K x T x images (passes); 'time per pass / base' is 1.00 where the time grows exactly linearly with it. The library crafts images of");
        md.AppendLine("another size than the model's at their own resolution through a view resized to the model's input (CraftingViews), so the checkpoints see");
        md.AppendLine("32x32 in every row: the size rows measure what the larger iterate and the resized view add, not 4x or 9x the network's work.").AppendLine();
        md.AppendLine("| group | K | T | images | size | processes x threads | seconds (median) | every repeat | passes/s | time per pass / base |");
        md.AppendLine("|---|---:|---:|---:|---:|---|---:|---|---:|---:|");
        foreach (var (r, all, m) in rows)
        {
            string layout = r.Processes == 1 ? Inv($"1 x {threads}") : Inv($"{r.Processes} x {Math.Max(1, threads / r.Processes)}");
            md.AppendLine(Inv($"| {r.Group} | {r.K} | {r.T} | {r.Images} | {r.Size} | {layout} | {m:F1} | {string.Join(", ", all.Select(v => v.ToString("F1", CultureInfo.InvariantCulture)))} | {Work(r) / m:F0} | {m / Work(r) / baseUnit:F2} |"));
        }
        var one = rows.First(r => r.Row.Group == "shards" && r.Row.Processes == 1);
        var two = rows.First(r => r.Row.Group == "shards" && r.Row.Processes > 1);
        md.AppendLine();
        md.AppendLine(Inv($"Two shards on two processes (one thread each) / one process with {threads} threads, same {one.Row.Images} images: {two.Median / one.Median:F2} of the time."));
        md.AppendLine();
        md.AppendLine("Produced by: `dotnet benchmarks/Robustness.Benchmarks/bin/Release/net10.0/linux-x64/Robustness.Benchmarks.dll sep-scale" + Inv($" --repeats {repeats} --threads {threads}`") +
            " (`sep-scale --report` redraws this file from the JSON).");
        File.WriteAllText(Path.Combine(resultsDir, "sep-scale-cpu.md"), md.ToString());
        Console.Write(md.ToString());
        return 0;
    }

    private static string Describe(Row r) => Inv($"{r.Group}: K = {r.K}, T = {r.T}, {r.Images} images of {r.Size}x{r.Size}, {r.Processes} process(es)");

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
    private static string Inv(int v) => v.ToString(CultureInfo.InvariantCulture);
}
