using System.Text.Json;
using Robustness.Runtime;

namespace Robustness.Cli.Commands;

/// <summary>What doctor found for the faster AVX2 cap: whether the self-check passed under it, and the failures if not.</summary>
/// <param name="Isa">The cap tried (<c>ONEDNN_MAX_CPU_ISA</c>).</param>
/// <param name="Passed">True or false from the child's self-check; null when the child could not run.</param>
/// <param name="Failures">The failing probes, one line each.</param>
/// <param name="Note">Why there is no verdict, when <paramref name="Passed"/> is null.</param>
public sealed record FasterCapCheck(string Isa, bool? Passed, IReadOnlyList<string> Failures, string? Note);

/// <summary>
/// The kernel guard caps oneDNN at AVX on every AVX-512 CPU because its AVX2 kernels were wrong on one of them; on the
/// others they are correct and faster for training (benchmarks/results/kernel-guard-cpu.md). oneDNN reads its cap once
/// per process, so doctor runs the self-check again in a child process with <c>ONEDNN_MAX_CPU_ISA=AVX2</c> and tells
/// the user whether setting it is safe on this machine as far as the self-check can tell.
/// </summary>
internal static class FasterCapProbe
{
    /// <summary>The hidden doctor option that makes the child run the self-check only and print it as JSON.</summary>
    public const string ChildOption = "--self-check-only";

    /// <summary>The cap tried.</summary>
    public const string Isa = "AVX2";

    public static FasterCapCheck Run(TimeSpan timeout)
    {
        var start = DoctorChildProcess.Command(ChildOption);
        start.Environment.Remove(KernelGuard.LegacyIsaVariable);
        start.Environment[KernelGuard.IsaVariable] = Isa;
        try
        {
            var run = DoctorChildProcess.Run(start, timeout);
            if (run is null) return new FasterCapCheck(Isa, null, [], $"the check did not finish within {timeout.TotalSeconds:F0} s");
            string? line = run.Value.Stdout.Split('\n').LastOrDefault(l => l.TrimStart().StartsWith('{'));
            if (line is null) return new FasterCapCheck(Isa, null, [], $"the check failed: {run.Value.Stderr.Trim()}");
            using var document = JsonDocument.Parse(line);
            var failures = document.RootElement.GetProperty("failures").EnumerateArray().Select(f => f.GetString()!).ToList();
            return new FasterCapCheck(Isa, document.RootElement.GetProperty("passed").GetBoolean(), failures, null);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or JsonException or KeyNotFoundException)
        {
            return new FasterCapCheck(Isa, null, [], $"could not run the check: {e.Message}");
        }
    }

    /// <summary>The child's work: the self-check under the cap it was started with, as one JSON line.</summary>
    public static void RunInChild(TextWriter output)
    {
        var check = TorchRuntime.SelfCheck();
        output.WriteLine(JsonSerializer.Serialize(new { passed = check.Passed, failures = check.Failures.Select(f => f.ToString()).ToArray() }));
    }
}
