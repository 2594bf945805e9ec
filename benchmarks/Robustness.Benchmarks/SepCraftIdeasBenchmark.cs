using System.Globalization;
using System.Text;
using System.Text.Json;
using Robustness.Runtime;

namespace Robustness.Benchmarks;

/// <summary>
/// Issue 18's ideas for SEP crafting speed, each measured against the library as it is and against PyTorch in the same
/// run: frozen checkpoint parameters, channels-last weights, other batch sizes, the kernel guard off, and PyTorch with
/// its oneDNN capped as the guard caps ours. Every setting crafts the same images from the same checkpoints in a fresh
/// process; the settings rotate, so a drift of the machine's speed does not favour one; medians of passes/s. Also runs
/// the conv self-check of benchmarks/reference/conv_self_check.py on PyTorch with and without the cap, since a baseline
/// whose kernels are wrong on this CPU is not a baseline. Writes benchmarks/results/sep-craft-ideas-cpu.{json,md}.
/// </summary>
public static class SepCraftIdeasBenchmark
{
    private sealed record Setting(string Key, string Name, bool Python, int Batch, string Variant, Dictionary<string, string?> Environment);

    /// <summary>The settings a run must keep: the ratio columns divide by them.</summary>
    public static readonly string[] RequiredKeys = ["library", "pytorch", "pytorch-avx"];

    public static int Run(string resultsDir, string python, int threads, int repeats, int width, int checkpoints, int iterations, int images,
        IReadOnlyCollection<string>? only = null, string name = "sep-craft-ideas-cpu")
    {
        string referenceDir = Path.Combine(TrainingBenchmark.RepositoryRoot(), "benchmarks", "reference");
        string workDir = Path.Combine(Path.GetTempPath(), $"robustness-sep-ideas-bench-{Environment.ProcessId}");
        var (self, prefix) = WorkerProcess.Self();
        try
        {
            var (clean, parameters, _) = SepCraftWorker.Prepare(workDir, "resnet18", width, checkpoints, 1024, images, iterations, threads);
            var inherit = new Dictionary<string, string?>();
            // PyTorch 1.13's oneDNN 2.x reads ONEDNN_MAX_CPU_ISA (and the older DNNL_ name); AVX is the guard's cap.
            var pytorchAvx = new Dictionary<string, string?> { [KernelGuard.IsaVariable] = KernelGuard.CappedIsa, [KernelGuard.LegacyIsaVariable] = KernelGuard.CappedIsa };
            Setting[] settings =
            [
                new("library", "library (batch 128)", false, 128, "library", inherit),
                new("nchw", $"library, NCHW ({KernelGuard.ChannelsLastVariable}=off)", false, 128, "library", new Dictionary<string, string?> { [KernelGuard.ChannelsLastVariable] = "off" }),
                new("frozen", "frozen parameters", false, 128, "frozen", inherit),
                new("channels-last", "channels-last weights", false, 128, "channels-last", inherit),
                new("frozen+channels-last", "frozen + channels-last", false, 128, "frozen+channels-last", inherit),
                new("batch64", "batch 64", false, 64, "library", inherit),
                new("batch256", "batch 256", false, 256, "library", inherit),
                new("guard-off", "kernel guard off", false, 128, "library", new Dictionary<string, string?> { [KernelGuard.GuardVariable] = "off" }),
                new("onednn-off", "oneDNN off (ATen im2col + BLAS convolutions)", false, 128, "library", new Dictionary<string, string?> { [OneDnnSwitch.Variable] = "1" }),
                new("pytorch", "PyTorch (its default ISA)", true, 128, "", new Dictionary<string, string?> { [KernelGuard.IsaVariable] = null, [KernelGuard.LegacyIsaVariable] = null }),
                new("pytorch-avx", $"PyTorch, oneDNN capped at {KernelGuard.CappedIsa}", true, 128, "", pytorchAvx),
            ];
            if (only is { Count: > 0 })
            {
                var unknown = only.Except(settings.Select(s => s.Key)).ToArray();
                if (unknown.Length > 0)
                    throw new ArgumentOutOfRangeException("--settings", string.Join(',', unknown), $"Unknown setting; the settings are {string.Join(", ", settings.Select(s => s.Key))}.");
                settings = [.. settings.Where(s => only.Contains(s.Key) || RequiredKeys.Contains(s.Key))];
            }
            var checks = new
            {
                robustness_guard = WorkerProcess.Run(self, [.. prefix, "self-check-worker"]),
                robustness_off = WorkerProcess.Run(self, [.. prefix, "self-check-worker"], environment: new Dictionary<string, string?> { [KernelGuard.GuardVariable] = "off" }),
                robustness_no_onednn = WorkerProcess.Run(self, [.. prefix, "self-check-worker"], environment: new Dictionary<string, string?> { [OneDnnSwitch.Variable] = "1" }),
                pytorch_default = WorkerProcess.Run(python, ["conv_self_check.py"], referenceDir, new Dictionary<string, string?> { [KernelGuard.IsaVariable] = null, [KernelGuard.LegacyIsaVariable] = null }),
                pytorch_avx = WorkerProcess.Run(python, ["conv_self_check.py"], referenceDir, pytorchAvx),
            };

            var rates = settings.ToDictionary(s => s.Name, _ => new List<double>());
            var last = new Dictionary<string, JsonElement>();
            for (int r = 0; r < repeats; r++)
                for (int k = 0; k < settings.Length; k++)
                {
                    var s = settings[(k + r) % settings.Length];
                    string outFile = Path.Combine(workDir, $"out-{k}.bin");
                    var result = s.Python
                        ? WorkerProcess.Run(python, ["sep_craft_throughput.py", "--work", workDir, "--batch", Inv(s.Batch), "--threads", Inv(threads), "--out", outFile], referenceDir, s.Environment)
                        : WorkerProcess.Run(self, [.. prefix, "sep-craft-worker", workDir, Inv(s.Batch), Inv(threads), outFile, "cpu", s.Variant], environment: s.Environment);
                    rates[s.Name].Add(result.GetProperty("passes_per_second").GetDouble());
                    last[s.Name] = result;
                    Console.WriteLine(Inv($"{s.Name}: {rates[s.Name][^1]:F0} passes/s"));
                }

            string libraryName = settings.First(s => s.Key == "library").Name, pytorchName = settings.First(s => s.Key == "pytorch").Name, pytorchCappedName = settings.First(s => s.Key == "pytorch-avx").Name;
            double library = KernelGuardBenchmark.Median(rates[libraryName]), pytorch = KernelGuardBenchmark.Median(rates[pytorchName]), pytorchAvxRate = KernelGuardBenchmark.Median(rates[pytorchCappedName]);
            var machine = MachineInfo.Current();
            var cpu = CpuFeatures.Current;
            Directory.CreateDirectory(resultsDir);
            File.WriteAllText(Path.Combine(resultsDir, name + ".json"), JsonSerializer.Serialize(new
            {
                benchmark = name, machine, cpu_extensions = cpu.Extensions, threads, repeats,
                model = new { arch = "resnet18", width, parameters, checkpoints, iterations, images, clean_accuracy_last = clean },
                passes_per_second = rates, last_result = last, self_checks = checks,
                note = "Fresh process per measurement, rotating the order; medians; passes = image x checkpoint x iteration.",
            }, new JsonSerializerOptions { WriteIndented = true }));

            string Check(JsonElement c) => c.GetProperty("passed").GetBoolean() ? "passed" : Inv($"FAILED ({c.GetProperty("failures").GetArrayLength()} of {c.GetProperty("probes").GetInt32()} probes)");
            var md = new StringBuilder();
            md.AppendLine("# SEP crafting speed: issue 18's ideas, measured side by side (CPU)");
            md.AppendLine();
            md.AppendLine(Inv($"Machine: {machine.Cpu}, {machine.Cores} cores, {machine.Os}, {machine.DotNet}; CPU extensions (CPUID): {string.Join(' ', cpu.Extensions)}."));
            md.AppendLine(Inv($"{threads} threads; {repeats} fresh processes per setting, rotating which goes first; measured {machine.Date}."));
            md.AppendLine(Inv($"Command: `benchmarks/run-sep-benchmark.sh` builds; then `dotnet benchmarks/Robustness.Benchmarks/bin/Release/net10.0/linux-x64/Robustness.Benchmarks.dll sep-craft-ideas --repeats {repeats} --width {width} --k {checkpoints} --iterations {iterations} --images {images}{(only is { Count: > 0 } ? " --settings " + string.Join(',', settings.Select(s => s.Key)) : "")} --name {name}`."));
            md.AppendLine(Inv($"Work: SEP on {images} synthetic images, K = {checkpoints} ResNet-18 w{width} checkpoints ({parameters:N0} parameters), T = {iterations}, eps 8/255, step 1/255; the sep-craft benchmark's workers (PyTorch {last[pytorchName].GetProperty("version").GetString()}, Debian)."));
            md.AppendLine("Unit: passes/s (image x checkpoint x iteration, one forward and backward each); the ratio columns are medians over the library's or PyTorch's median.");
            md.AppendLine(Inv($"Kernel self-checks on this CPU: ours with the guard {Check(checks.robustness_guard)}, ours with the guard off {Check(checks.robustness_off)}, ours with oneDNN off {Check(checks.robustness_no_onednn)};"));
            md.AppendLine(Inv($"PyTorch's conv check (benchmarks/reference/conv_self_check.py, the same shapes against float64) at its default ISA {Check(checks.pytorch_default)}, capped at {KernelGuard.CappedIsa} {Check(checks.pytorch_avx)}."));
            md.AppendLine("A setting whose check fails is the speed of wrong kernels.");
            md.AppendLine();
            md.AppendLine("| setting | passes/s (median) | every repeat | / library | / PyTorch | / PyTorch capped |");
            md.AppendLine("|---|---:|---|---:|---:|---:|");
            foreach (var s in settings)
            {
                double m = KernelGuardBenchmark.Median(rates[s.Name]);
                string extra = s.Variant.Contains("channels-last") && last[s.Name].TryGetProperty("channels_last_output", out var cl) && cl.ValueKind != JsonValueKind.Null
                    ? (cl.GetBoolean() ? " (conv output channels-last: yes)" : " (conv output channels-last: NO, the layout did not take)") : "";
                md.AppendLine(Inv($"| {s.Name}{extra} | {m:F0} | {string.Join(", ", rates[s.Name].Select(v => v.ToString("F0", CultureInfo.InvariantCulture)))} | {m / library:F2} | {m / pytorch:F2} | {m / pytorchAvxRate:F2} |"));
            }
            File.WriteAllText(Path.Combine(resultsDir, name + ".md"), md.ToString());
            Console.WriteLine(md.ToString());
            return 0;
        }
        finally
        {
            if (Directory.Exists(workDir)) Directory.Delete(workDir, recursive: true);
        }
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static string Inv(int v) => v.ToString(CultureInfo.InvariantCulture);
}
