using TorchSharp;

namespace Robustness.Cli.Commands;

/// <summary>
/// Asks oneDNN which instruction set it runs on. oneDNN prints it (<c>onednn_verbose,...,info,cpu,isa:...</c>) only
/// when ONEDNN_VERBOSE is set before its first primitive, and only on native stdout, so the tool runs itself as a
/// child with that variable and one convolution, and reads the line. The child inherits this process's environment,
/// so its kernel guard decides as this one did.
/// </summary>
internal static class OneDnnIsaProbe
{
    /// <summary>The hidden doctor option that makes the child run one convolution and exit.</summary>
    public const string ChildOption = "--onednn-probe";

    private const string IsaMarker = ",info,cpu,isa:";

    /// <summary>oneDNN's own name of its instruction set (e.g. "Intel AVX2"), or a sentence saying why it is unknown.</summary>
    public static string Run(TimeSpan timeout)
    {
        var start = DoctorChildProcess.Command(ChildOption);
        start.Environment["ONEDNN_VERBOSE"] = "1";
        try
        {
            var run = DoctorChildProcess.Run(start, timeout);
            if (run is null) return $"unknown (the probe did not finish within {timeout.TotalSeconds:F0} s)";
            string? line = run.Value.Stdout.Split('\n').FirstOrDefault(l => l.Contains(IsaMarker, StringComparison.Ordinal));
            if (line is not null) return line[(line.IndexOf(IsaMarker, StringComparison.Ordinal) + IsaMarker.Length)..].Trim();
            return run.Value.ExitCode == 0 ? "unknown (oneDNN printed no ISA line)" : $"unknown (the probe failed: {run.Value.Stderr.Trim()})";
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return $"unknown (could not run the probe: {e.Message})";
        }
    }

    /// <summary>The child's work: one small float32 convolution, which makes oneDNN initialise and report.</summary>
    public static void RunInChild()
    {
        using var x = torch.ones(16, 3, 16, 16);   // large enough for ATen to hand it to oneDNN
        using var w = torch.ones(4, 3, 3, 3);
        using var y = torch.nn.functional.conv2d(x, w, padding: [1, 1]);
        _ = y.sum().item<float>();
    }
}
