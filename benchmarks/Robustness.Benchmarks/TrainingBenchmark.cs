using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Robustness.Benchmarks;

/// <summary>
/// Training throughput and memory of the Robustness Trainer against PyTorch on the same machine, in one invocation:
/// each model is measured in fresh processes, alternating Robustness and PyTorch, best of <c>repeats</c> each.
/// Writes benchmarks/results/training-cpu.{json,md}. Target: time ratio (Robustness / PyTorch) &lt;= 1.05.
/// </summary>
public static class TrainingBenchmark
{
    private sealed record Config(string Arch, int Width, int Batch, int Warmup, int Timed);

    public static int Run(string resultsDir, string python, bool quick, int threads, int repeats)
    {
        string referenceDir = Path.Combine(RepositoryRoot(), "benchmarks", "reference");
        Config[] configs = quick
            ? [new("small-cnn", 32, 128, 4, 8), new("resnet18", 16, 128, 4, 4)]
            : [new("small-cnn", 32, 128, 8, 60), new("resnet18", 16, 128, 8, 24), new("resnet18", 64, 128, 4, 8)];

        var rows = new List<(Config Config, JsonElement Ours, JsonElement Loop, JsonElement Theirs, JsonElement ChannelsLast)>();
        var (self, prefix) = WorkerProcess.Self();
        foreach (var c in configs)
        {
            JsonElement? best = null, bestLoop = null, bestTheirs = null, bestChannelsLast = null;
            for (int r = 0; r < repeats; r++)
            {
                string[] worker = [.. prefix, "training-worker", c.Arch, Inv(c.Width), Inv(c.Batch), Inv(c.Warmup), Inv(c.Timed), Inv(threads)];
                var ours = WorkerProcess.Run(self, worker);
                var loop = WorkerProcess.Run(self, [.. worker, "--raw"]);
                var channelsLast = WorkerProcess.Run(self, [.. worker, "--channels-last"]);
                var theirs = WorkerProcess.Run(python, ["train_throughput.py", "--arch", c.Arch, "--width", Inv(c.Width), "--batch", Inv(c.Batch),
                    "--warmup", Inv(c.Warmup), "--batches", Inv(c.Timed), "--threads", Inv(threads)], referenceDir);
                if (best is null || Ips(ours) > Ips(best.Value)) best = ours;
                if (bestLoop is null || Ips(loop) > Ips(bestLoop.Value)) bestLoop = loop;
                if (bestTheirs is null || Ips(theirs) > Ips(bestTheirs.Value)) bestTheirs = theirs;
                if (bestChannelsLast is null || Ips(channelsLast) > Ips(bestChannelsLast.Value)) bestChannelsLast = channelsLast;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{c.Arch} w{c.Width}: robustness {Ips(ours):F1} img/s, bare TorchSharp loop {Ips(loop):F1} img/s, channels-last weights {Ips(channelsLast):F1} img/s, pytorch {Ips(theirs):F1} img/s"));
            }
            rows.Add((c, best!.Value, bestLoop!.Value, bestTheirs!.Value, bestChannelsLast!.Value));
        }

        var machine = MachineInfo.Current();
        Directory.CreateDirectory(resultsDir);
        var json = new
        {
            benchmark = "training-throughput-cpu",
            machine,
            threads,
            repeats,
            note = "Best of repeats, fresh process per measurement; time ratio = PyTorch img/s / Robustness img/s (<= 1.05 is the target).",
            rows = rows.Select(r => new
            {
                arch = r.Config.Arch, width = r.Config.Width, batch = r.Config.Batch, timed_batches = r.Config.Timed,
                robustness = r.Ours, torchsharp_loop = r.Loop, pytorch = r.Theirs, robustness_channels_last_weights = r.ChannelsLast,
                channels_last_time_ratio = Ips(r.Theirs) / Ips(r.ChannelsLast),
                time_ratio = Ips(r.Theirs) / Ips(r.Ours),
                trainer_overhead_ratio = Ips(r.Loop) / Ips(r.Ours),
                torchsharp_vs_pytorch_ratio = Ips(r.Theirs) / Ips(r.Loop),
                peak_memory_ratio = r.Ours.GetProperty("peak_rss_mb").GetDouble() / r.Theirs.GetProperty("peak_rss_mb").GetDouble(),
            }),
        };
        File.WriteAllText(Path.Combine(resultsDir, "training-cpu.json"), JsonSerializer.Serialize(json, new JsonSerializerOptions { WriteIndented = true }));

        var md = new StringBuilder();
        md.AppendLine("# Training throughput on CPU: Robustness Trainer vs PyTorch");
        md.AppendLine();
        md.AppendLine(Inv($"Machine: {machine.Cpu}, {machine.Cores} cores, {machine.Os}, {machine.DotNet}; {threads} threads each; measured {machine.Date}."));
        md.AppendLine(Inv($"PyTorch {rows[0].Theirs.GetProperty("version").GetString()} (Debian python3-torch); TorchSharp {rows[0].Ours.GetProperty("version").GetString()} (libtorch 2.10)."));
        md.AppendLine("Work: random 32x32 images, batch 128, SGD (lr 0.1, momentum 0.9, wd 5e-4), cross-entropy, train mode, no augmentation;");
        md.AppendLine(Inv($"best of {repeats} fresh processes each, alternating. Time ratio = Robustness time / PyTorch time (target <= 1.05)."));
        md.AppendLine("'Bare loop' is the PyTorch script's loop written in plain TorchSharp: Trainer / bare loop is the Trainer's own cost,");
        md.AppendLine("bare loop / PyTorch is TorchSharp 0.107 + libtorch 2.10 against this PyTorch build. 'Channels-last' is issue 18's idea:");
        md.AppendLine("the Trainer with the model's 4-D weights given NHWC strides first (a benchmark variant, not the library's default).");
        md.AppendLine(Inv($"Kernel guard: {rows[0].Ours.GetProperty("kernel_guard").GetString()}; PyTorch runs its own oneDNN at its default ISA."));
        md.AppendLine("Memory: peak RSS of the process; 'growth' = RSS after minus before the timed batches (allocator warm-up shows here;");
        md.AppendLine("see memory-cpu.md for thousands of batches).");
        md.AppendLine();
        md.AppendLine("| model | params | Trainer img/s | bare TorchSharp loop img/s | Trainer, channels-last weights img/s | PyTorch img/s | time ratio Trainer/PyTorch | time ratio channels-last/PyTorch | Trainer/bare loop | bare loop/PyTorch | peak RSS MiB (Trainer / PyTorch) | RSS growth MiB (Trainer / PyTorch) |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var (c, ours, loop, theirs, channelsLast) in rows)
            md.AppendLine(Inv($"| {c.Arch} w{c.Width} | {ours.GetProperty("parameters").GetInt64():N0} | {Ips(ours):F1} | {Ips(loop):F1} | {Ips(channelsLast):F1} | {Ips(theirs):F1} | {Ips(theirs) / Ips(ours):F2} | {Ips(theirs) / Ips(channelsLast):F2} | {Ips(loop) / Ips(ours):F2} | {Ips(theirs) / Ips(loop):F2} | {ours.GetProperty("peak_rss_mb").GetDouble():F0} / {theirs.GetProperty("peak_rss_mb").GetDouble():F0} | {Growth(ours):F0} / {Growth(theirs):F0} |"));
        File.WriteAllText(Path.Combine(resultsDir, "training-cpu.md"), md.ToString());
        Console.WriteLine(md.ToString());
        return 0;
    }

    private static double Ips(JsonElement e) => e.GetProperty("images_per_second").GetDouble();

    private static double Growth(JsonElement e) => e.GetProperty("rss_after_mb").GetDouble() - e.GetProperty("rss_before_mb").GetDouble();

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static string Inv(int v) => v.ToString(CultureInfo.InvariantCulture);

    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Robustness.sln"))) return dir.FullName;
        return Directory.GetCurrentDirectory();
    }
}
