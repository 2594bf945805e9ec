using System.Globalization;
using System.Text;
using System.Text.Json;
using Robustness.Runtime;

namespace Robustness.Benchmarks;

/// <summary>
/// What the kernel guard costs (issue 11, and issue 12's AVX-512 check): the same workloads in fresh processes with the
/// guard on (oneDNN capped at AVX on an AVX-512 CPU), with the older AVX2 cap, and forced off (ROBUSTNESS_ONEDNN_GUARD=off:
/// oneDNN's AVX-512 kernels), rotating which goes first, <c>repeats</c> times each. Workloads: Trainer steps on small-cnn w4 (the affected channel counts),
/// small-cnn w16 and ResNet-18 w16, and SEP crafting on ResNet-18 w16 checkpoints. Writes
/// benchmarks/results/kernel-guard-cpu.{json,md}. Ratios of median throughputs (1.0 = as fast).
/// </summary>
public static class KernelGuardBenchmark
{
    private sealed record Workload(string Name, string[] Arguments, string Unit);

    public static int Run(string resultsDir, bool quick, int threads, int repeats)
    {
        var (self, prefix) = WorkerProcess.Self();
        string workDir = Path.Combine(Path.GetTempPath(), $"robustness-kernel-guard-bench-{Environment.ProcessId}");
        // Timed batches sized for about 10 s per measurement on 2 cores (shorter ones drift by 10-20% from run to run).
        int scale = quick ? 1 : 10, craftImages = quick ? 128 : 256, craftCheckpoints = 3, craftIterations = quick ? 5 : 10;
        int w4Batches = 40 * scale, w16Batches = 12 * scale, resnetBatches = 4 * scale;
        try
        {
            // The checkpoints are trained once, in this process (with the guard as this process has it); only crafting is timed.
            SepCraftWorker.Prepare(workDir, "resnet18", 16, craftCheckpoints, 1024, craftImages, craftIterations, threads);
            Workload[] workloads =
            [
                new("Trainer, small-cnn w4", [.. prefix, "training-worker", "small-cnn", "4", "128", "8", Inv(w4Batches), Inv(threads)], "img/s"),
                new("Trainer, small-cnn w16", [.. prefix, "training-worker", "small-cnn", "16", "128", "8", Inv(w16Batches), Inv(threads)], "img/s"),
                new("Trainer, resnet18 w16", [.. prefix, "training-worker", "resnet18", "16", "128", "4", Inv(resnetBatches), Inv(threads)], "img/s"),
                new($"SEP crafting, resnet18 w16, K={craftCheckpoints}, T={craftIterations}",
                    [.. prefix, "sep-craft-worker", workDir, "128", Inv(threads), Path.Combine(workDir, "out.bin")], "passes/s"),
            ];
            var guard = new Dictionary<string, string?> { [KernelGuard.GuardVariable] = null, [KernelGuard.IsaVariable] = null, [KernelGuard.LegacyIsaVariable] = null };
            // Three settings: the guard's own cap, the older AVX2 cap (set as a user cap, which the guard keeps), and none.
            (string Name, Dictionary<string, string?> Environment)[] settings =
            [
                ("guard", guard),
                ("avx2", new Dictionary<string, string?>(guard) { [KernelGuard.IsaVariable] = "AVX2" }),
                ("off", new Dictionary<string, string?>(guard) { [KernelGuard.GuardVariable] = "off" }),
                // A fourth way round the broken kernels: no oneDNN at all (ATen's im2col + BLAS convolutions, see OneDnnSwitch).
                ("no-onednn", new Dictionary<string, string?>(guard) { [OneDnnSwitch.Variable] = "1" }),
            ];

            // doctor's self-check under each setting: where it fails, that setting's speed is the speed of wrong kernels.
            var checks = settings.ToDictionary(x => x.Name, x => WorkerProcess.Run(self, [.. prefix, "self-check-worker"], environment: x.Environment));
            string Verdict(string name) => checks[name].GetProperty("passed").GetBoolean()
                ? "passed"
                : Inv($"FAILED ({checks[name].GetProperty("failures").GetArrayLength()} of {checks[name].GetProperty("probes").GetInt32()} probes)");
            var rows = new List<object>();
            var lines = new List<string>();
            foreach (var w in workloads)
            {
                var rates = settings.ToDictionary(x => x.Name, _ => new List<double>());
                var states = settings.ToDictionary(x => x.Name, _ => "");
                for (int r = 0; r < repeats; r++)
                {
                    // Rotate which setting runs first, so a drift of the machine's speed does not favour one.
                    for (int k = 0; k < settings.Length; k++)
                    {
                        var (name, environment) = settings[(k + r) % settings.Length];
                        var result = WorkerProcess.Run(self, w.Arguments, environment: environment);
                        rates[name].Add(w.Unit == "img/s" ? result.GetProperty("images_per_second").GetDouble() : result.GetProperty("passes_per_second").GetDouble());
                        states[name] = result.GetProperty("kernel_guard").GetString()!;
                    }
                    Console.WriteLine(Inv($"{w.Name}: guard {rates["guard"][^1]:F1}, AVX2 cap {rates["avx2"][^1]:F1}, off {rates["off"][^1]:F1}, no oneDNN {rates["no-onednn"][^1]:F1} {w.Unit}"));
                }
                double guardRatio = Median(rates["guard"]) / Median(rates["off"]), avx2Ratio = Median(rates["avx2"]) / Median(rates["off"]);
                double guardOverAvx2 = Median(rates["guard"]) / Median(rates["avx2"]), noOneDnnRatio = Median(rates["no-onednn"]) / Median(rates["off"]);
                rows.Add(new { workload = w.Name, unit = w.Unit, guard = rates["guard"], avx2_cap = rates["avx2"], off = rates["off"], no_onednn = rates["no-onednn"], no_onednn_over_off = noOneDnnRatio,
                    states, guard_over_off = guardRatio, avx2_over_off = avx2Ratio, guard_over_avx2 = guardOverAvx2 });
                lines.Add(Inv($"| {w.Name} | {w.Unit} | {Median(rates["guard"]):F1} | {Median(rates["avx2"]):F1} | {Median(rates["off"]):F1} | {Median(rates["no-onednn"]):F1} | {guardRatio:F3} | {avx2Ratio:F3} | {noOneDnnRatio:F3} | {guardOverAvx2:F3} | {states["guard"]} / {states["avx2"]} / {states["off"]} |"));
            }

            var machine = MachineInfo.Current();
            var cpu = CpuFeatures.Current;
            Directory.CreateDirectory(resultsDir);
            File.WriteAllText(Path.Combine(resultsDir, "kernel-guard-cpu.json"), JsonSerializer.Serialize(new
            {
                benchmark = "kernel-guard-cost-cpu", machine, cpu_extensions = cpu.Extensions, threads, repeats, quick, rows,
                self_check = settings.ToDictionary(x => x.Name, x => checks[x.Name]),
                note = "Fresh process per measurement, rotating the order of the settings; ratios of median throughputs.",
            }, new JsonSerializerOptions { WriteIndented = true }));

            var md = new StringBuilder();
            md.AppendLine($"# What the kernel guard costs (oneDNN capped at {KernelGuard.CappedIsa}, at AVX2, as shipped, and not used)");
            md.AppendLine();
            md.AppendLine(Inv($"Machine: {machine.Cpu}, {machine.Cores} cores, {machine.Os}, {machine.DotNet}; CPU extensions (CPUID): {string.Join(' ', cpu.Extensions)}."));
            md.AppendLine(Inv($"{threads} threads; {repeats} fresh processes per setting, rotating which goes first; measured {machine.Date}."));
            md.AppendLine("Command: `dotnet benchmarks/Robustness.Benchmarks/bin/Release/net10.0/linux-x64/Robustness.Benchmarks.dll kernel-guard"
                + (quick ? " --quick" : "") + Inv($" --repeats {repeats}`."));
            md.AppendLine(Inv($"Trainer rows: the training benchmark's worker (SGD, batch 128; timed batches: small-cnn w4 {w4Batches}, w16 {w16Batches}, resnet18 {resnetBatches}). SEP row: crafting {craftImages} images,"));
            md.AppendLine(Inv($"K = {craftCheckpoints} ResNet-18 w16 checkpoints, T = {craftIterations}, batch 128 (the sep-craft benchmark's worker)."));
            md.AppendLine($"Settings: the guard as shipped ({KernelGuard.IsaVariable}={KernelGuard.CappedIsa}), the older AVX2 cap ({KernelGuard.IsaVariable}=AVX2, kept as a user cap), the guard off");
            md.AppendLine($"({KernelGuard.GuardVariable}=off: oneDNN's AVX-512 kernels), and no oneDNN at all ({OneDnnSwitch.Variable}=1: libtorch's mkldnn switch off, ATen's im2col + BLAS convolutions). Ratios of median throughputs: 1.00 means as fast, 0.90 means 10% slower.");
            md.AppendLine("On a CPU where `robustness doctor` fails with a setting, that setting's speed is the speed of wrong kernels.");
            md.AppendLine($"doctor's self-check on this machine: guard {Verdict("guard")}; AVX2 cap {Verdict("avx2")}; off {Verdict("off")}; no oneDNN {Verdict("no-onednn")}.");
            md.AppendLine();
            md.AppendLine("| workload | unit | guard (median) | AVX2 cap (median) | off (median) | no oneDNN (median) | guard / off | AVX2 cap / off | no oneDNN / off | guard / AVX2 cap | state guard / AVX2 / off |");
            md.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
            foreach (string line in lines) md.AppendLine(line);
            File.WriteAllText(Path.Combine(resultsDir, "kernel-guard-cpu.md"), md.ToString());
            Console.WriteLine(md.ToString());
            return 0;
        }
        finally
        {
            if (Directory.Exists(workDir)) Directory.Delete(workDir, recursive: true);
        }
    }

    /// <summary>doctor's self-check in this process's kernel setting, as one JSON line (run per setting by <see cref="Run"/>).</summary>
    public static int SelfCheckWorker()
    {
        var check = TorchRuntime.SelfCheck();
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            passed = check.Passed, probes = check.Probes.Count, failures = check.Failures.Select(f => f.ToString()).ToArray(),
            kernel_guard = check.Guard.State.ToString(),
        }));
        return 0;
    }

    /// <summary>The median (the mean of the middle two for an even count); the ideas benchmark uses it too.</summary>
    internal static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static string Inv(int v) => v.ToString(CultureInfo.InvariantCulture);
}
