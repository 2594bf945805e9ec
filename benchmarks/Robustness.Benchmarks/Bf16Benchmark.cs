using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Robustness.Data;
using Robustness.Models;
using Robustness.Runtime;
using TorchSharp;

namespace Robustness.Benchmarks;

/// <summary>
/// Issue 18's first bf16 question, before any bf16 path is built: on this CPU, is an input-gradient pass (SEP's unit of
/// work) of ResNet-18 w16 faster in bfloat16 than in float32, in TorchSharp (weights and input cast to bf16: TorchSharp
/// 0.107 has no autocast) and in PyTorch (cast, and CPU autocast)? With the kernel guard (oneDNN capped at AVX, below
/// its AVX-512 BF16 kernels) and without it. Each worker also compares its bf16 input gradient with its own float32
/// one (cosine similarity), so a fast but wrong kernel shows. Fresh processes, rotating, medians of passes/s.
/// Writes benchmarks/results/bf16-cpu.{json,md}.
/// </summary>
public static class Bf16Benchmark
{
    private sealed record Setting(string Name, bool Python, string Dtype, Dictionary<string, string?> Environment);

    private const int Batch = 128, Steps = 10, Width = 16;

    public static int Run(string resultsDir, string python, int threads, int repeats)
    {
        string referenceDir = Path.Combine(TrainingBenchmark.RepositoryRoot(), "benchmarks", "reference");
        var (self, prefix) = WorkerProcess.Self();
        var inherit = new Dictionary<string, string?>();
        var guardOff = new Dictionary<string, string?> { [KernelGuard.GuardVariable] = "off" };
        var pytorchDefault = new Dictionary<string, string?> { [KernelGuard.IsaVariable] = null, [KernelGuard.LegacyIsaVariable] = null };
        var pytorchAvx = new Dictionary<string, string?> { [KernelGuard.IsaVariable] = KernelGuard.CappedIsa, [KernelGuard.LegacyIsaVariable] = KernelGuard.CappedIsa };
        Setting[] settings =
        [
            new("Robustness fp32 (guard)", false, "fp32", inherit),
            new("Robustness bf16 cast (guard)", false, "bf16", inherit),
            new("Robustness fp32 (guard off)", false, "fp32", guardOff),
            new("Robustness bf16 cast (guard off)", false, "bf16", guardOff),
            new("PyTorch fp32 (default ISA)", true, "fp32", pytorchDefault),
            new("PyTorch bf16 cast (default ISA)", true, "bf16", pytorchDefault),
            new("PyTorch bf16 autocast (default ISA)", true, "autocast", pytorchDefault),
            new($"PyTorch fp32 (capped at {KernelGuard.CappedIsa})", true, "fp32", pytorchAvx),
            new($"PyTorch bf16 cast (capped at {KernelGuard.CappedIsa})", true, "bf16", pytorchAvx),
        ];
        var rates = settings.ToDictionary(s => s.Name, _ => new List<double>());
        var last = new Dictionary<string, JsonElement>();
        var failures = new Dictionary<string, string>();
        for (int r = 0; r < repeats; r++)
            for (int k = 0; k < settings.Length; k++)
            {
                var s = settings[(k + r) % settings.Length];
                JsonElement result;
                try
                {
                    result = s.Python
                        ? WorkerProcess.Run(python, ["bf16_throughput.py", "--dtype", s.Dtype, "--threads", Inv(threads)], referenceDir, s.Environment)
                        : WorkerProcess.Run(self, [.. prefix, "bf16-worker", s.Dtype, Inv(threads)], environment: s.Environment);
                }
                catch (InvalidOperationException e)
                {
                    // A setting that cannot run here (e.g. oneDNN with no bf16 convolution below AVX-512) is a result too.
                    string reason = e.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last(l => l.Trim().Length > 0).Trim();
                    failures[s.Name] = reason;
                    Console.WriteLine($"{s.Name}: failed: {reason}");
                    continue;
                }
                rates[s.Name].Add(result.GetProperty("passes_per_second").GetDouble());
                last[s.Name] = result;
                Console.WriteLine(Inv($"{s.Name}: {rates[s.Name][^1]:F0} passes/s, gradient cosine to fp32 {result.GetProperty("cosine_to_fp32").GetDouble():F4}"));
            }

        var machine = MachineInfo.Current();
        var cpu = CpuFeatures.Current;
        Directory.CreateDirectory(resultsDir);
        File.WriteAllText(Path.Combine(resultsDir, "bf16-cpu.json"), JsonSerializer.Serialize(new
        {
            benchmark = "bf16-cpu", machine, cpu_extensions = cpu.Extensions, threads, repeats, batch = Batch, steps = Steps, width = Width,
            passes_per_second = rates, last_result = last, failures,
        }, new JsonSerializerOptions { WriteIndented = true }));
        var md = new StringBuilder();
        md.AppendLine("# bf16 against fp32 for SEP's unit of work on this CPU").AppendLine();
        md.AppendLine(Inv($"Machine: {machine.Cpu}, {machine.Cores} cores, {machine.Os}, {machine.DotNet}; CPU extensions (CPUID): {string.Join(' ', cpu.Extensions)}; {machine.Date}."));
        md.AppendLine(Inv($"Work: the input gradient of the summed cross-entropy of a ResNet-18 w{Width} (random weights, eval mode, no normalisation) on {Batch} random images, {Steps} timed steps after 2 untimed; {threads} threads; {repeats} fresh processes per setting, rotating; medians."));
        md.AppendLine("bf16 cast: weights and input in bfloat16, the loss in float32 (TorchSharp 0.107 has no autocast); autocast: PyTorch's CPU autocast to bfloat16. 'cosine to fp32': the cosine similarity of the bf16 input gradient with the same process's float32 one (1 = same direction).");
        md.AppendLine("Both sides run the network in plain NCHW here (the library crafts channels-last under the guard; this loop does not), so the fp32 rows are the NCHW kernels' speed.");
        md.AppendLine(Inv($"PyTorch {last.First(kv => kv.Key.StartsWith("PyTorch", StringComparison.Ordinal)).Value.GetProperty("version").GetString()} (Debian) carries oneDNN 2.x; this library's libtorch 2.10 carries oneDNN 3.7.1, capped at {KernelGuard.CappedIsa} by the kernel guard on this CPU unless it is off."));
        md.AppendLine();
        md.AppendLine("| setting | passes/s (median) | every repeat | / its own fp32 | cosine to fp32 |");
        md.AppendLine("|---|---:|---|---:|---:|");
        foreach (var s in settings)
        {
            if (rates[s.Name].Count == 0)
            {
                md.AppendLine($"| {s.Name} | failed: {failures.GetValueOrDefault(s.Name, "no result")} | | | |");
                continue;
            }
            double m = KernelGuardBenchmark.Median(rates[s.Name]);
            var fp32 = settings.First(o => o.Python == s.Python && o.Dtype == "fp32" && SameEnvironment(o, s));
            md.AppendLine(Inv($"| {s.Name} | {m:F0} | {string.Join(", ", rates[s.Name].Select(v => v.ToString("F0", CultureInfo.InvariantCulture)))} | {m / KernelGuardBenchmark.Median(rates[fp32.Name]):F2} | {last[s.Name].GetProperty("cosine_to_fp32").GetDouble():F4} |"));
        }
        md.AppendLine();
        md.AppendLine("Produced by: `dotnet benchmarks/Robustness.Benchmarks/bin/Release/net10.0/linux-x64/Robustness.Benchmarks.dll bf16" + Inv($" --repeats {repeats} --threads {threads}`."));
        File.WriteAllText(Path.Combine(resultsDir, "bf16-cpu.md"), md.ToString());
        Console.Write(md.ToString());
        return 0;
    }

    private static bool SameEnvironment(Setting a, Setting b) =>
        a.Environment.Count == b.Environment.Count && a.Environment.All(kv => b.Environment.TryGetValue(kv.Key, out var v) && v == kv.Value);

    /// <summary>One setting in its own process: fp32 or bf16 (cast) input-gradient passes/s; one JSON line.</summary>
    public static int Worker(string dtype, int threads)
    {
        if (dtype is not ("fp32" or "bf16")) throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "fp32 or bf16.");
        torch.set_num_threads(threads);
        using var classifier = Classifier.Create(new ModelSpec("resnet18", 10, Width), Normalization.Cifar10, seed: 0);
        classifier.Eval();
        var network = classifier.Network;
        using var generator = new torch.Generator(0);
        using var x = torch.rand([Batch, 3, 32, 32], generator: generator);
        using var y = torch.randint(0, 10, [Batch], generator: generator);
        using var reference = Gradient(network, x, y);
        if (dtype == "bf16") network.to(torch.ScalarType.BFloat16);
        using var input = dtype == "bf16" ? x.to(torch.ScalarType.BFloat16) : x.alias();
        using (var warm = torch.NewDisposeScope()) { Gradient(network, input, y); Gradient(network, input, y); }
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < Steps; i++)
        {
            using var scope = torch.NewDisposeScope();
            Gradient(network, input, y);
        }
        double seconds = clock.Elapsed.TotalSeconds;
        using var last = Gradient(network, input, y);
        using var g = last.to(torch.ScalarType.Float32).flatten();
        using var r = reference.flatten();
        double cosine = torch.nn.functional.cosine_similarity(g, r, dim: 0).item<float>();
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            framework = "robustness", dtype, batch = Batch, steps = Steps, threads = torch.get_num_threads(),
            kernel_guard = KernelGuard.Status.State.ToString(), seconds, passes_per_second = Batch * Steps / seconds, cosine_to_fp32 = cosine,
        }));
        return 0;
    }

    private static torch.Tensor Gradient(torch.nn.Module<torch.Tensor, torch.Tensor> network, torch.Tensor x, torch.Tensor y)
    {
        using var enabled = torch.enable_grad();
        using var input = x.detach().requires_grad_();
        using var logits = network.call(input);
        using var logits32 = logits.to(torch.ScalarType.Float32);
        using var loss = torch.nn.functional.cross_entropy(logits32, y, reduction: torch.nn.Reduction.Sum);
        return torch.autograd.grad([loss], [input])[0];
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
    private static string Inv(int v) => v.ToString(CultureInfo.InvariantCulture);
}
