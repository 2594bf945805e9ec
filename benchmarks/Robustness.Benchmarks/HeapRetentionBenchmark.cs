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
/// <remarks>
/// With <c>hugePages</c> the same harness asks what <see cref="HugePages"/> adds on top: the library as shipped against
/// <c>ROBUSTNESS_HUGE_PAGES=off</c>, and PyTorch with the same malloc thresholds with and without glibc's own huge-page
/// tunable (<c>GLIBC_TUNABLES=glibc.malloc.hugetlb=1</c>; PyTorch 1.13 has no <c>THP_MEM_ALLOC_ENABLE</c>); a ResNet-18 w64 training workload joins (its activations, 34 MB at batch 128, are
/// above glibc's largest mmap threshold, where retention cannot help and huge pages can).
/// </remarks>
public static class HeapRetentionBenchmark
{
    private sealed record Workload(string Name, string[] Library, string[] PyTorch, string Unit);

    private sealed record Setting(string Name, bool IsLibrary, Dictionary<string, string?> Environment);

    // The four settings of a comparison: the library as shipped, the library without the feature, PyTorch without it, PyTorch with it.
    private sealed record Comparison(string Title, string Command, string Feature, Setting[] Settings, string Description);

    public static int Run(string resultsDir, string python, int threads, int repeats, string name, bool hugePages = false, string? only = null)
    {
        var (self, prefix) = WorkerProcess.Self();
        string referenceDir = Path.Combine(TrainingBenchmark.RepositoryRoot(), "benchmarks", "reference");
        string root = Path.Combine(Path.GetTempPath(), $"robustness-heap-bench-{Environment.ProcessId}");
        string pgdDir = Path.Combine(root, "pgd"), sepDir = Path.Combine(root, "sep"), sepWideDir = Path.Combine(root, "sep-w64");
        try
        {
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
                .. hugePages
                    ? new Workload[]
                    {
                        new("Training, resnet18 w64, batch 128", [.. prefix, "training-worker", "resnet18", "64", "128", "2", "8", t],
                            ["train_throughput.py", "--arch", "resnet18", "--width", "64", "--batch", "128", "--warmup", "2", "--batches", "8", "--threads", t], "img/s"),
                        new("SEP crafting, resnet18 w64, K=1, T=5, 128 images", [.. prefix, "sep-craft-worker", sepWideDir, "128", t, Path.Combine(sepWideDir, "ours.bin")],
                            ["sep_craft_throughput.py", "--work", sepWideDir, "--batch", "128", "--threads", t, "--out", Path.Combine(sepWideDir, "theirs.bin")], "passes/s"),
                    }
                    : [],
            ];
            // --only: the workloads whose names contain one of these words (e.g. "SEP" for more repeats of the main job alone).
            if (only is not null)
            {
                var words = only.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                workloads = [.. workloads.Where(w => words.Any(word => w.Name.Contains(word, StringComparison.OrdinalIgnoreCase)))];
                if (workloads.Length == 0) throw new ArgumentException($"--only: no workload's name contains {string.Join(" or ", words)}.");
            }
            // Only the work folders the chosen workloads read are prepared. Sized for about 10 s per measurement with glibc's
            // defaults on 2 cores; the w64 crafting is ResNet-18's full width, where a batch's activations (34 MB) pass glibc's
            // largest mmap threshold.
            bool Uses(string dir) => workloads.Any(w => w.Library.Contains(dir));
            if (Uses(pgdDir)) PgdWorker.Prepare(pgdDir, 16, 2048, 1, 256, threads);
            if (Uses(sepDir)) SepCraftWorker.Prepare(sepDir, "resnet18", 16, 3, 512, 128, 10, threads);
            if (Uses(sepWideDir)) SepCraftWorker.Prepare(sepWideDir, "resnet18", 64, 1, 256, 128, 5, threads);
            var comparison = hugePages ? HugePagesComparison(threads, repeats, name, only) : RetentionComparison(threads, repeats, name, only);
            var settings = comparison.Settings;

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
                double on = median[settings[0].Name], off = median[settings[1].Name], torch = median[settings[2].Name], tuned = median[settings[3].Name];
                rows.Add(new { workload = w.Name, unit = w.Unit, rates, median, gain = on / off, library_over_pytorch = on / torch, library_over_pytorch_same_settings = on / tuned });
                // Settings after the fourth: more ways of the library's own, each with its gain over the feature off.
                string extras = string.Concat(settings.Skip(4).Select(x => Inv($" {median[x.Name]:F1} | {median[x.Name] / off:F2} |")));
                lines.Add(Inv($"| {w.Name} | {w.Unit} | {on:F1} | {off:F1} | {on / off:F2} | {torch:F1} | {tuned:F1} | {on / torch:F2} | {on / tuned:F2} |{extras} {string.Join(" / ", settings.Select(s => WorkerProcess.Each(rates[s.Name])))} |"));
            }

            var machine = MachineInfo.Current();
            var cpu = CpuFeatures.Current;
            Directory.CreateDirectory(resultsDir);
            File.WriteAllText(Path.Combine(resultsDir, name + ".json"), JsonSerializer.Serialize(new
            {
                benchmark = name, feature = comparison.Feature, machine, cpu_extensions = cpu.Extensions, kernel_guard = KernelGuard.Status.State.ToString(), threads, repeats,
                mmap_threshold = HeapRetention.MmapThreshold, trim_threshold = HeapRetention.TrimThreshold, top_pad = HeapRetention.TopPad, huge_pages = HugePages.Status.Explanation, rows,
            }, new JsonSerializerOptions { WriteIndented = true }));

            var md = new StringBuilder();
            md.AppendLine(comparison.Title).AppendLine();
            md.AppendLine(Inv($"Machine: {machine.Cpu}, {machine.Cores} cores, {machine.Os}, {machine.DotNet}; CPU extensions (CPUID): {string.Join(' ', cpu.Extensions)}; kernel guard {KernelGuard.Status.State} (PyTorch runs its own oneDNN at its default ISA)."));
            md.AppendLine(Inv($"{threads} threads per process; {repeats} repeats per setting, each a fresh process, rotating which setting goes first; measured {machine.Date}."));
            md.AppendLine(Inv($"Command: `{comparison.Command}`."));
            md.AppendLine(comparison.Description);
            md.AppendLine("Rates are medians over the repeats; a ratio above 1 means the library is faster.").AppendLine();
            md.AppendLine($"| workload | unit | {settings[0].Name} | {settings[1].Name} | {comparison.Feature} gain | {settings[2].Name} | {settings[3].Name} | library / PyTorch | library / PyTorch with the same settings |{string.Concat(settings.Skip(4).Select(x => $" {x.Name} | its gain over {settings[1].Name} |"))} every repeat ({string.Join(" / ", settings.Select(x => x.Name))}) |");
            md.AppendLine($"|---|---|---:|---:|---:|---:|---:|---:|---:|{string.Concat(settings.Skip(4).Select(_ => "---:|---:|"))}---|");
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

    private static Dictionary<string, string?> Unset() =>
        HeapRetention.UserVariables.Append(HeapRetention.SwitchVariable).Append(HugePages.Variable).Append(HugePages.SwitchVariable).ToDictionary(v => v, _ => (string?)null);

    // glibc's three thresholds as HeapRetention sets them, through the environment (for PyTorch).
    private static Dictionary<string, string?> SameThresholds() => new(Unset())
    {
        ["MALLOC_MMAP_THRESHOLD_"] = Inv(HeapRetention.MmapThreshold),
        ["MALLOC_TRIM_THRESHOLD_"] = Inv(HeapRetention.TrimThreshold),
        ["MALLOC_TOP_PAD_"] = Inv(HeapRetention.TopPad),
    };

    private static string Only(string? only) => only is null ? "" : $" --only \"{only}\"";

    private static Comparison RetentionComparison(int threads, int repeats, string name, string? only) => new(
        "# Heap retention: glibc keeping freed tensor memory, for the library and for PyTorch",
        Inv($"benchmarks/run-heap-retention.sh --repeats {repeats} --threads {threads} --name {name}{Only(only)}"), "retention",
        [
            new("library", true, new(Unset()) { [HugePages.SwitchVariable] = "off" }),
            new("library, retention off", true, new(Unset()) { [HeapRetention.SwitchVariable] = "off", [HugePages.SwitchVariable] = "off" }),
            new("PyTorch", false, Unset()),
            new("PyTorch, same thresholds", false, SameThresholds()),
        ],
        Inv($"Settings: 'library' is the library with HeapRetention (mallopt mmap threshold {HeapRetention.MmapThreshold >> 20} MiB, trim threshold {HeapRetention.TrimThreshold >> 20} MiB, top pad {HeapRetention.TopPad >> 20} MiB) and huge pages off ({HugePages.SwitchVariable}=off, measured in huge-pages-cpu.md); 'retention off' is {HeapRetention.SwitchVariable}=off, glibc's defaults; 'PyTorch' is the twin script (benchmarks/reference) with glibc's defaults, as people run it; 'PyTorch, same thresholds' sets the same three values through MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_ and MALLOC_TOP_PAD_."));

    private static Comparison HugePagesComparison(int threads, int repeats, string name, string? only) => new(
        "# Huge pages: libtorch's large tensors on transparent huge pages, for the library and for PyTorch",
        Inv($"benchmarks/run-heap-retention.sh --huge-pages --repeats {repeats} --threads {threads} --name {name}{Only(only)}"), "huge-page",
        [
            new("library", true, Unset()),
            new("library, huge pages off", true, new(Unset()) { [HugePages.SwitchVariable] = "off" }),
            new("PyTorch, same thresholds", false, SameThresholds()),
            new("PyTorch, same thresholds and huge pages", false, new(SameThresholds()) { ["GLIBC_TUNABLES"] = "glibc.malloc.hugetlb=1" }),
            new("library, glibc's huge pages instead", true, new(Unset()) { [HugePages.SwitchVariable] = "off", ["GLIBC_TUNABLES"] = "glibc.malloc.hugetlb=1" }),
        ],
        Inv($"Settings: 'library' is the library as shipped (heap retention and {HugePages.Variable}=1, set in-process: {HugePages.Status.Explanation}); 'huge pages off' is {HugePages.SwitchVariable}=off (heap retention still on); both PyTorch rows run the twin script (benchmarks/reference) with the library's three malloc thresholds, the second also with GLIBC_TUNABLES=glibc.malloc.hugetlb=1 (glibc 2.35 and later: malloc itself advises huge pages; PyTorch 1.13 predates libtorch's own {HugePages.Variable}); 'library, glibc's huge pages instead' is the library with {HugePages.SwitchVariable}=off and that same glibc tunable (it must be in the environment when the process starts, so the library cannot set it itself)."));

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static string Inv(int v) => v.ToString(CultureInfo.InvariantCulture);
}
