using System.Globalization;
using System.Text;
using System.Text.Json;
using Robustness.Runtime;

namespace Robustness.Benchmarks;

/// <summary>
/// What the library's OpenMP spin limit (<see cref="OpenMpWaiting"/>) changes: the same workloads in fresh processes with
/// GOMP_SPINCOUNT at the library's value and at libgomp's own default (300,000, set explicitly so that the library keeps
/// it), each alone on the machine and beside a second copy of itself started at the same moment (two processes of two
/// threads on the same cores: a user protecting two folders at once, or any other busy program). Workloads: PGD-10 (the
/// attacks run channels-last under the guard), SEP crafting (channels-last under the guard) and Trainer steps (plain
/// NCHW). Writes benchmarks/results/&lt;name&gt;.{json,md}.
/// </summary>
public static class OpenMpWaitingBenchmark
{
    private sealed record Workload(string Name, string[] Arguments, string Unit);

    private const string LibgompDefault = "300000";

    public static int Run(string resultsDir, int threads, int repeats, string name)
    {
        var (self, prefix) = WorkerProcess.Self();
        string root = Path.Combine(Path.GetTempPath(), $"robustness-openmp-bench-{Environment.ProcessId}");
        string pgdDir = Path.Combine(root, "pgd"), sepDir = Path.Combine(root, "sep");
        try
        {
            // Sized for about 10 s per measurement alone on 2 cores.
            PgdWorker.Prepare(pgdDir, 16, 2048, 1, 256, threads);
            SepCraftWorker.Prepare(sepDir, "resnet18", 16, 3, 512, 128, 10, threads);
            Workload[] workloads =
            [
                new("PGD-10, small-cnn w16, 256 images (attack: channels-last under the guard)", [.. prefix, "pgd-worker", pgdDir, "128", Inv(threads)], "img/s"),
                new("SEP crafting, resnet18 w16, K=3, T=10, 128 images (channels-last under the guard)",
                    [.. prefix, "sep-craft-worker", sepDir, "128", Inv(threads), Path.Combine(sepDir, "out.bin")], "passes/s"),
                new("Trainer, small-cnn w16 (NCHW)", [.. prefix, "training-worker", "small-cnn", "16", "128", "8", "120", Inv(threads)], "img/s"),
                new("Trainer, resnet18 w16 (NCHW)", [.. prefix, "training-worker", "resnet18", "16", "128", "4", "40", Inv(threads)], "img/s"),
            ];
            (string Name, Dictionary<string, string?> Environment)[] settings =
            [
                ("library", new() { [OpenMpWaiting.SpinCountVariable] = null, [OpenMpWaiting.WaitPolicyVariable] = null }),
                ("libgomp default", new() { [OpenMpWaiting.SpinCountVariable] = LibgompDefault, [OpenMpWaiting.WaitPolicyVariable] = null }),
            ];

            var rows = new List<object>();
            var lines = new List<string>();
            foreach (var w in workloads)
            {
                var alone = settings.ToDictionary(s => s.Name, _ => new List<double>());
                var paired = settings.ToDictionary(s => s.Name, _ => new List<double>());
                for (int r = 0; r < repeats; r++)
                {
                    for (int k = 0; k < settings.Length; k++)
                    {
                        var (setting, environment) = settings[(k + r) % settings.Length];
                        alone[setting].Add(WorkerProcess.Rate(WorkerProcess.Run(self, w.Arguments, environment: environment), w.Unit));
                        // Two copies started together; each one's own rate, averaged: what each of two jobs gets.
                        var pair = Task.WhenAll(Enumerable.Range(0, 2).Select(_ => Task.Run(() => WorkerProcess.Run(self, w.Arguments, environment: environment)))).GetAwaiter().GetResult();
                        paired[setting].Add(pair.Average(p => WorkerProcess.Rate(p, w.Unit)));
                        Console.WriteLine(Inv($"{w.Name}, {setting}: alone {alone[setting][^1]:F1}, beside a second copy {paired[setting][^1]:F1} {w.Unit} each"));
                    }
                }
                double libraryAlone = KernelGuardBenchmark.Median(alone["library"]), defaultAlone = KernelGuardBenchmark.Median(alone["libgomp default"]);
                double libraryPaired = KernelGuardBenchmark.Median(paired["library"]), defaultPaired = KernelGuardBenchmark.Median(paired["libgomp default"]);
                rows.Add(new { workload = w.Name, unit = w.Unit, alone, beside_a_second_copy = paired,
                    library_over_default_alone = libraryAlone / defaultAlone, library_over_default_beside = libraryPaired / defaultPaired });
                lines.Add(Inv($"| {w.Name} | {w.Unit} | {libraryAlone:F1} | {defaultAlone:F1} | {libraryAlone / defaultAlone:F2} | {libraryPaired:F1} | {defaultPaired:F1} | {libraryPaired / defaultPaired:F2} | {WorkerProcess.Each(alone["library"])} / {WorkerProcess.Each(alone["libgomp default"])} | {WorkerProcess.Each(paired["library"])} / {WorkerProcess.Each(paired["libgomp default"])} |"));
            }

            var machine = MachineInfo.Current();
            var cpu = CpuFeatures.Current;
            Directory.CreateDirectory(resultsDir);
            File.WriteAllText(Path.Combine(resultsDir, name + ".json"), JsonSerializer.Serialize(new
            {
                benchmark = name, machine, cpu_extensions = cpu.Extensions, kernel_guard = KernelGuard.Status.State.ToString(), threads, repeats,
                library_spin_count = OpenMpWaiting.LibrarySpinCount, libgomp_default = LibgompDefault, rows,
            }, new JsonSerializerOptions { WriteIndented = true }));

            var md = new StringBuilder();
            md.AppendLine("# OpenMP spin limit: the library's GOMP_SPINCOUNT against libgomp's default, alone and beside a second busy process").AppendLine();
            md.AppendLine(Inv($"Machine: {machine.Cpu}, {machine.Cores} cores, {machine.Os}, {machine.DotNet}; CPU extensions (CPUID): {string.Join(' ', cpu.Extensions)}; kernel guard {KernelGuard.Status.State}."));
            md.AppendLine(Inv($"{threads} threads per process; {repeats} repeats per setting, rotating which goes first; measured {machine.Date}."));
            md.AppendLine(Inv($"Command: `dotnet benchmarks/Robustness.Benchmarks/bin/Release/net10.0/linux-x64/Robustness.Benchmarks.dll openmp-waiting --repeats {repeats} --threads {threads} --name {name}`."));
            md.AppendLine(Inv($"Settings: the library's GOMP_SPINCOUNT={OpenMpWaiting.LibrarySpinCount} (set by its module initializer), and libgomp's own default ({LibgompDefault} spins, set explicitly, which the library keeps)."));
            md.AppendLine("\"Beside a second copy\": two processes of the same workload started together on the same cores; the rate is each process's own, averaged over the two.");
            md.AppendLine("The PGD and SEP rows run channels-last convolutions where the kernel guard caps oneDNN (AVX-512 CPUs), the Trainer rows plain NCHW.").AppendLine();
            md.AppendLine("| workload | unit | library, alone (median) | libgomp default, alone | ratio alone | library, beside a second copy | libgomp default, beside | ratio beside | every repeat alone (library / default) | every repeat beside (library / default) |");
            md.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---|---|");
            foreach (string line in lines) md.AppendLine(line);
            md.AppendLine().AppendLine("A ratio above 1 means the library's setting is faster.");
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
