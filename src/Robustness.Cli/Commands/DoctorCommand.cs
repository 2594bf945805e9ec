using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Robustness.Cli.Output;
using Robustness.Runtime;
using TorchSharp;

namespace Robustness.Cli.Commands;

/// <summary>
/// <c>robustness doctor</c>: what this machine runs on (libtorch and where it came from, the CPU's instruction sets as
/// the CPU and oneDNN report them, the kernel guard, threads, CUDA) and a self-check of the kernels a small CNN uses.
/// Exit code 1 when the self-check fails.
/// </summary>
public static class DoctorCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(TextWriter output, TextWriter error)
    {
        var json = new Option<bool>("--json") { Description = "Print the findings as one JSON object instead of text." };
        var probe = new Option<bool>(OneDnnIsaProbe.ChildOption) { Hidden = true };
        var selfCheckOnly = new Option<bool>(FasterCapProbe.ChildOption) { Hidden = true };
        var command = new Command("doctor",
            "Show the libtorch in use, the CPU's instruction sets as oneDNN sees them, the kernel guard and CUDA, and run a short self-check (exit 1 when it fails).")
        {
            json, probe, selfCheckOnly,
        };
        command.SetAction((parse, cancel) =>
        {
            if (parse.GetValue(probe))
            {
                OneDnnIsaProbe.RunInChild();
                return Task.FromResult(ExitCodes.Success);
            }
            if (parse.GetValue(selfCheckOnly))
            {
                FasterCapProbe.RunInChild(output);
                return Task.FromResult(ExitCodes.Success);
            }
            var report = Examine();
            if (parse.GetValue(json)) output.WriteLine(JsonSerializer.Serialize(report, JsonOptions));
            else WriteText(output, report);
            return Task.FromResult(report.SelfCheck.Passed ? ExitCodes.Success : ExitCodes.Failure);
        });
        return command;
    }

    /// <summary>
    /// The options of <c>doctor --json</c>: enums by name (the guard's state), for scripts. A failing probe's relative
    /// error can be NaN: it is written as "NaN", so that the report of a broken machine, the one that matters most, is
    /// still JSON.
    /// </summary>
    public static readonly JsonSerializerOptions JsonOptions = new(ReportJson.Options)
    {
        Converters = { new JsonStringEnumConverter() },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Everything doctor reports.</summary>
    public sealed record DoctorReport(
        string TorchSharpVersion, string LibTorchVersion, string LibTorchSource, string? LibTorchFile,
        string Cpu, int LogicalCores, IReadOnlyList<string> CpuExtensions, string OneDnnIsa,
        KernelGuardStatus Guard, OpenMpWaitingStatus OpenMpWaiting, HeapRetentionStatus HeapRetention, HugePagesStatus HugePages, int Threads, int InteropThreads, bool CudaAvailable, int CudaDevices,
        RuntimeSelfCheckReport SelfCheck, FasterCapCheck? FasterCap);

    private static DoctorReport Examine()
    {
        var cpu = CpuFeatures.Current;
        bool cuda = TorchRuntime.IsCudaAvailable();
        var selfCheck = TorchRuntime.SelfCheck();
        string source = TorchRuntime.LibTorchDirectory is { } dir
            ? $"{TorchRuntime.LibTorchDirectoryVariable}={dir}"
            : "bundled (the TorchSharp-cpu package beside this program)";
        return new DoctorReport(
            typeof(torch).Assembly.GetName().Version?.ToString() ?? "unknown", torch.__version__, source, LoadedLibTorchFile(),
            cpu.Model, Environment.ProcessorCount, cpu.Extensions, OneDnnIsaProbe.Run(TimeSpan.FromSeconds(60)),
            KernelGuard.Status, OpenMpWaiting.Status, HeapRetention.Status, HugePages.Status, torch.get_num_threads(), torch.get_num_interop_threads(), cuda, cuda ? torch.cuda.device_count() : 0,
            selfCheck,
            // Only where the guard itself capped oneDNN: a user's own cap, or no AVX-512, leaves nothing to try.
            KernelGuard.Status.State == KernelGuardState.Capped ? FasterCapProbe.Run(TimeSpan.FromSeconds(120)) : null);
    }

    private static void WriteText(TextWriter output, DoctorReport r)
    {
        string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
        output.WriteLine(Inv($"TorchSharp     {r.TorchSharpVersion} on libtorch {r.LibTorchVersion}"));
        output.WriteLine(Inv($"libtorch       {r.LibTorchSource}{(r.LibTorchFile is null ? "" : $": {r.LibTorchFile}")}"));
        output.WriteLine(Inv($"CPU            {r.Cpu}, {r.LogicalCores} logical cores; {(r.CpuExtensions.Count == 0 ? "no AVX2 or AVX-512" : string.Join(' ', r.CpuExtensions))}"));
        output.WriteLine(Inv($"oneDNN ISA     {r.OneDnnIsa}"));
        output.WriteLine(Inv($"kernel guard   {Describe(r.Guard.State)}: {r.Guard.Explanation}"));
        output.WriteLine(Inv($"threads        {r.Threads} intra-op, {r.InteropThreads} inter-op; OpenMP waiting: {r.OpenMpWaiting.Explanation}"));
        output.WriteLine(Inv($"memory         {r.HeapRetention.Explanation}"));
        output.WriteLine(Inv($"huge pages     {r.HugePages.Explanation}"));
        output.WriteLine(r.CudaAvailable
            ? Inv($"CUDA           available, {r.CudaDevices} device(s)")
            : Inv($"CUDA           not available (the bundled libtorch is CPU-only; {TorchRuntime.LibTorchDirectoryVariable} can point at a CUDA libtorch)"));
        var check = r.SelfCheck;
        output.WriteLine(Inv($"self-check     {(check.Passed ? "passed" : "FAILED")}: {check.Probes.Count} probes, each run twice, in {check.Elapsed.TotalSeconds:F1} s; training digest {check.TrainingDigest[..16]}"));
        foreach (var failure in check.Failures) output.WriteLine($"  {failure}");
        if (r.FasterCap is { } faster)
        {
            output.WriteLine(faster.Passed switch
            {
                true => Inv($"faster cap     {KernelGuard.IsaVariable}={faster.Isa}: the self-check passes with it too (child process): setting it gives oneDNN's faster {faster.Isa} kernels (kernel-guard-cpu.md: 1.2-1.4x for training), at the risk of a failure that shows only on some runs."),
                false => Inv($"faster cap     {KernelGuard.IsaVariable}={faster.Isa}: the self-check FAILS with it on this machine (child process): keep the guard's {KernelGuard.CappedIsa} cap."),
                null => Inv($"faster cap     {KernelGuard.IsaVariable}={faster.Isa}: not checked ({faster.Note})."),
            });
            foreach (string failure in faster.Failures) output.WriteLine($"  {failure}");
        }
        if (!check.Passed)
            output.WriteLine(check.Guard.State == KernelGuardState.Capped
                ? "  The guard is on and the kernels still fail: please report this output."
                : $"  Results on this machine cannot be trusted. Unset {KernelGuard.GuardVariable}/{KernelGuard.IsaVariable} (the guard caps oneDNN at {KernelGuard.CappedIsa}) or report this output.");
    }

    private static string Describe(KernelGuardState state) => state switch
    {
        KernelGuardState.Capped => "on",
        KernelGuardState.UserSetting => "user setting",
        KernelGuardState.TurnedOff => "OFF",
        KernelGuardState.Unavailable => "NOT SET",
        _ => "not needed",
    };

    // The libtorch_cpu that the loader actually mapped (Linux); elsewhere the source line above says where it came from.
    private static string? LoadedLibTorchFile()
    {
        const string maps = "/proc/self/maps";
        if (!File.Exists(maps)) return null;
        return File.ReadLines(maps).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(parts => parts.Length >= 6 && parts[5].Contains("libtorch_cpu.", StringComparison.Ordinal))
            .Select(parts => string.Join(' ', parts[5..])).FirstOrDefault();
    }
}
