using System.Globalization;
using System.Text;
using System.Text.Json;
using Robustness.Runtime;

namespace Robustness.Benchmarks;

/// <summary>
/// What <see cref="HeapRetention"/> changes, and where it leaves the library against PyTorch: the same workloads in fresh
/// processes, the library with its heap retention and with <c>ROBUSTNESS_HEAP_RETENTION=off</c> (glibc's defaults),
/// and the PyTorch twin of each workload with glibc's defaults (how people run it) and with the same three malloc
/// thresholds set through glibc's environment variables (the same allocator behaviour on both sides). Workloads: PGD-10
/// on small-cnn w16, SEP crafting on ResNet-18 w16 (K = 3, T = 10), Trainer steps on small-cnn w16 and ResNet-18 w16.
/// Each measurement is a fresh process; the order of the four settings rotates between repeats. Writes
/// benchmarks/results/&lt;name&gt;.{json,md}.
/// </summary>
public static class HeapRetentionBenchmark
{
    private sealed record Workload(string Name, string[] Library, string[] PyTorch, string Unit);

    private sealed record Setting(string Name, bool IsLibrary, Dictionary<string, string?> Environment);

    public static int Run(string resultsDir, string python, int threads, int repeats, string name)
    {
        var (self, prefix) = WorkerProcess.Self();
        string referenceDir = Path.Combine(TrainingBenchmark.RepositoryRoot(), "benchmarks", "reference");
        string root = Path.Combine(Path.GetTempPath(), $"robustness-heap-bench-{Environment.ProcessId}");
        string pgdDir = Path.Combine(root, "pgd"), sepDir = Path.Combine(root, "sep");
        try
        {
            // Sized for about 10 s per measurement with glibc's defaults on 2 cores.
            PgdWorker.Prepare(pgdDir, 16, 2048, 1, 256, threads);
            SepCraftWorker.Prepare(sepDir, "resnet18", 16, 3, 512, 128, 10, threads);
            string t = Inv(threads);
            Workload[] workloads =
            [
                new("PGD-10, small-cnn w16, 256 images, batch 128", [.. prefix, "pgd-worker", pgdDir, "128", t],
                    ["pgd_throughput.py", "--work", pgdDir, "--batch", "128", "--threads", t], "img/s"),
                new("SEP crafting, resnet18 w16, K=3, T=10, 128 images", [.. prefix, "sep-craft-worker", sepDir, "128", t, Path.Combine(sepDir, "ours.bin")],
                    ["sep_craft_throughput.py", "--work", sepDir, "--batch", "128", "--threads", t, "--out", Path.Combine(sepDir, "theirs.bin")], "passes/s"),
                new("Training, small-cnn w16, batch 128", [.. prefix, "training-worker", "small-cnn", "16", "128", "8", "120", t],
                    ["train_throughput.py", "--arch", "small-cnn", "--width", "16", "--batch", "128", "--warmup", "8", "--batches", "120", "--threads", t], "img/s"),
                new("Training, resnet18 w16, batch 128", [.. prefix, "training-worker", "resnet18", "16", "128", "4", "40", t],
                    ["train_throughput.py", "--arch", "resnet18", "--width", "16", "--batch", "128", "--warmup", "4", "--batches", "40", "--threads", t], "img/s"),
            ];
            var unset = HeapRetention.UserVariables.ToDictionary(v => v, _ => (string?)null);
            Setting[] settings =
            [
                new("library", true, new(unset) { [HeapRetention.SwitchVariable] = null }),
                new("library, retention off", true, new(unset) { [HeapRetention.SwitchVariable] = "off" }),
                new("PyTorch", false, new(unset)),
                new("PyTorch, same thresholds", false, new(unset)
                {
                    ["MALLOC_MMAP_THRESHOLD_"] = Inv(HeapRetention.MmapThreshold),
                    ["MALLOC_TRIM_THRESHOLD_"] = Inv(HeapRetention.TrimThreshold),
                    ["MALLOC_TOP_PAD_"] = Inv(HeapRetention.TopPad),
                }),
            ];

            var rows = new List<object>();
            var lines = new List<string>();
            foreach (var w in workloads)
            {
                var rates = settings.ToDictionary(s => s.Name, _ => new List<double>());
                for (int r = 0; r < repeats; r++)
                {
                    for (int k = 0; k < settings.Length; k++)
                    {
                        var s = settings[(k + r) % settings.Length];
                        var result = s.IsLibrary
                            ? WorkerProcess.Run(self, w.Library, environment: s.Environment)
                            : WorkerProcess.Run(python, w.PyTorch, referenceDir, s.Environment);
                        rates[s.Name].Add(WorkerProcess.Rate(result, w.Unit));
                        Console.WriteLine(Inv($"{w.Name}, {s.Name}: {rates[s.Name][^1]:F1} {w.Unit}"));
                    }
                }
                var median = rates.ToDictionary(p => p.Key, p => KernelGuardBenchmark.Median(p.Value));
                double on = median["library"], off = median["library, retention off"], torch = median["PyTorch"], tuned = median["PyTorch, same thresholds"];
                rows.Add(new { workload = w.Name, unit = w.Unit, rates, median, retention_gain = on / off, library_over_pytorch = on / torch, library_over_pytorch_same_thresholds = on / tuned });
                lines.Add(Inv($"| {w.Name} | {w.Unit} | {on:F1} | {off:F1} | {on / off:F2} | {torch:F1} | {tuned:F1} | {on / torch:F2} | {on / tuned:F2} | {string.Join(" / ", settings.Select(s => WorkerProcess.Each(rates[s.Name])))} |"));
            }

            var machine = MachineInfo.Current();
            var cpu = CpuFeatures.Current;
            Directory.CreateDirectory(resultsDir);
            File.WriteAllText(Path.Combine(resultsDir, name + ".json"), JsonSerializer.Serialize(new
            {
                benchmark = name, machine, cpu_extensions = cpu.Extensions, kernel_guard = KernelGuard.Status.State.ToString(), threads, repeats,
                mmap_threshold = HeapRetention.MmapThreshold, trim_threshold = HeapRetention.TrimThreshold, top_pad = HeapRetention.TopPad, rows,
            }, new JsonSerializerOptions { WriteIndented = true }));

            var md = new StringBuilder();
            md.AppendLine("# Heap retention: glibc keeping freed tensor memory, for the library and for PyTorch").AppendLine();
            md.AppendLine(Inv($"Machine: {machine.Cpu}, {machine.Cores} cores, {machine.Os}, {machine.DotNet}; CPU extensions (CPUID): {string.Join(' ', cpu.Extensions)}; kernel guard {KernelGuard.Status.State} (PyTorch runs its own oneDNN at its default ISA)."));
            md.AppendLine(Inv($"{threads} threads per process; {repeats} repeats per setting, each a fresh process, rotating which setting goes first; measured {machine.Date}."));
            md.AppendLine(Inv($"Command: `benchmarks/run-heap-retention.sh --repeats {repeats} --threads {threads} --name {name}`."));
            md.AppendLine(Inv($"Settings: 'library' is the library as shipped (HeapRetention: mallopt mmap threshold {HeapRetention.MmapThreshold >> 20} MiB, trim threshold {HeapRetention.TrimThreshold >> 20} MiB, top pad {HeapRetention.TopPad >> 20} MiB); 'retention off' is {HeapRetention.SwitchVariable}=off, glibc's defaults; 'PyTorch' is the twin script (benchmarks/reference) with glibc's defaults, as people run it; 'PyTorch, same thresholds' sets the same three values through MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_ and MALLOC_TOP_PAD_."));
            md.AppendLine("Rates are medians over the repeats; a ratio above 1 means the library is faster.").AppendLine();
            md.AppendLine("| workload | unit | library | library, retention off | retention gain | PyTorch | PyTorch, same thresholds | library / PyTorch | library / PyTorch with the same thresholds | every repeat (library / off / PyTorch / PyTorch same thresholds) |");
            md.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---|");
            foreach (string line in lines) md.AppendLine(line);
            File.WriteAllText(Path.Combine(resultsDir, name + ".md"), md.ToString());
            Console.WriteLine(md.ToString());
            return 0;
        }
        finally
        {
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        }
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static string Inv(int v) => v.ToString(CultureInfo.InvariantCulture);
}
