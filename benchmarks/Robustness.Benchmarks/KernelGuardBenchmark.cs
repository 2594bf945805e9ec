using System.Globalization;
using System.Text;
using System.Text.Json;
using Robustness.Runtime;

namespace Robustness.Benchmarks;

/// <summary>
/// What the kernel guard costs (issue 11): the same workloads in fresh processes with the guard on (oneDNN capped at
/// AVX2 on an AVX-512 CPU) and forced off (ROBUSTNESS_ONEDNN_GUARD=off: oneDNN's AVX-512 kernels), alternating which
/// goes first, <c>repeats</c> times each. Workloads: Trainer steps on small-cnn w4 (the affected channel counts),
/// small-cnn w16 and ResNet-18 w16, and SEP crafting on ResNet-18 w16 checkpoints. Writes
/// benchmarks/results/kernel-guard-cpu.{json,md}. Ratio = guarded throughput / unguarded throughput (1.0 = free).
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
            var on = new Dictionary<string, string?> { [KernelGuard.GuardVariable] = null, [KernelGuard.IsaVariable] = null, [KernelGuard.LegacyIsaVariable] = null };
            var off = new Dictionary<string, string?>(on) { [KernelGuard.GuardVariable] = "off" };

            var rows = new List<object>();
            var lines = new List<string>();
            foreach (var w in workloads)
            {
                var guarded = new List<double>();
                var unguarded = new List<double>();
                string guardedState = "", unguardedState = "";
                for (int r = 0; r < repeats; r++)
                {
                    // Alternate which setting runs first, so a drift of the machine's speed does not favour one.
                    foreach (bool guardOn in r % 2 == 0 ? new[] { true, false } : [false, true])
                    {
                        var result = WorkerProcess.Run(self, w.Arguments, environment: guardOn ? on : off);
                        double rate = w.Unit == "img/s" ? result.GetProperty("images_per_second").GetDouble() : result.GetProperty("passes_per_second").GetDouble();
                        (guardOn ? guarded : unguarded).Add(rate);
                        if (guardOn) guardedState = result.GetProperty("kernel_guard").GetString()!;
                        else unguardedState = result.GetProperty("kernel_guard").GetString()!;
                    }
                    Console.WriteLine(Inv($"{w.Name}: guard on {guarded[^1]:F1} {w.Unit}, off {unguarded[^1]:F1} {w.Unit}"));
                }
                double ratioBest = guarded.Max() / unguarded.Max(), ratioMedian = Median(guarded) / Median(unguarded);
                rows.Add(new { workload = w.Name, unit = w.Unit, guard_on = guarded, guard_off = unguarded, guard_on_state = guardedState,
                    guard_off_state = unguardedState, ratio_best = ratioBest, ratio_median = ratioMedian });
                lines.Add(Inv($"| {w.Name} | {w.Unit} | {Median(guarded):F1} | {Median(unguarded):F1} | {ratioMedian:F3} | {ratioBest:F3} | {guardedState} / {unguardedState} |"));
            }

            var machine = MachineInfo.Current();
            var cpu = CpuFeatures.Current;
            Directory.CreateDirectory(resultsDir);
            File.WriteAllText(Path.Combine(resultsDir, "kernel-guard-cpu.json"), JsonSerializer.Serialize(new
            {
                benchmark = "kernel-guard-cost-cpu", machine, cpu_extensions = cpu.Extensions, threads, repeats, quick, rows,
                note = "Fresh process per measurement, alternating guard on/off; ratio = guard-on throughput / guard-off throughput.",
            }, new JsonSerializerOptions { WriteIndented = true }));

            var md = new StringBuilder();
            md.AppendLine("# What the kernel guard costs (oneDNN capped at AVX2 vs its AVX-512 kernels)");
            md.AppendLine();
            md.AppendLine(Inv($"Machine: {machine.Cpu}, {machine.Cores} cores, {machine.Os}, {machine.DotNet}; CPU extensions (CPUID): {string.Join(' ', cpu.Extensions)}."));
            md.AppendLine(Inv($"{threads} threads; {repeats} fresh processes per setting, alternating which goes first; measured {machine.Date}."));
            md.AppendLine("Command: `dotnet benchmarks/Robustness.Benchmarks/bin/Release/net10.0/linux-x64/Robustness.Benchmarks.dll kernel-guard"
                + (quick ? " --quick" : "") + Inv($" --repeats {repeats}`."));
            md.AppendLine(Inv($"Trainer rows: the training benchmark's worker (SGD, batch 128; timed batches: small-cnn w4 {w4Batches}, w16 {w16Batches}, resnet18 {resnetBatches}). SEP row: crafting {craftImages} images,"));
            md.AppendLine(Inv($"K = {craftCheckpoints} ResNet-18 w16 checkpoints, T = {craftIterations}, batch 128 (the sep-craft benchmark's worker)."));
            md.AppendLine("Ratio = guard-on throughput / guard-off throughput: 1.00 means the guard is free, 0.90 means 10% slower.");
            md.AppendLine();
            md.AppendLine("| workload | unit | guard on (median) | guard off (median) | ratio (medians) | ratio (best of each) | guard state on / off |");
            md.AppendLine("|---|---|---:|---:|---:|---:|---|");
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

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static string Inv(int v) => v.ToString(CultureInfo.InvariantCulture);
}
