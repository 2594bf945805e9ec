using System.Diagnostics;

namespace Robustness.Cli.Commands;

/// <summary>
/// doctor runs some of its checks in a child process of this tool, because oneDNN reads its settings once per process:
/// the instruction-set probe (<see cref="OneDnnIsaProbe"/>) and the faster cap's self-check (<see cref="FasterCapProbe"/>).
/// </summary>
internal static class DoctorChildProcess
{
    /// <summary>
    /// This tool again, as 'doctor <paramref name="option"/>': the apphost (installed tool, built executable) or
    /// 'dotnet Robustness.Cli.dll'. The child inherits this process's environment unless the caller changes it.
    /// </summary>
    public static ProcessStartInfo Command(string option)
    {
        string dll = typeof(DoctorChildProcess).Assembly.Location;
        string? process = Environment.ProcessPath;
        string name = Path.GetFileNameWithoutExtension(process ?? "");
        bool apphost = process is not null && (name.Equals("robustness", StringComparison.OrdinalIgnoreCase) ||
                                               name.Equals(Path.GetFileNameWithoutExtension(dll), StringComparison.OrdinalIgnoreCase));
        string host = name.Equals("dotnet", StringComparison.OrdinalIgnoreCase) ? process! : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        var start = new ProcessStartInfo(apphost ? process! : host)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        if (!apphost) start.ArgumentList.Add(dll);
        start.ArgumentList.Add("doctor");
        start.ArgumentList.Add(option);
        return start;
    }

    /// <summary>
    /// Runs a doctor child to its end and returns what it printed, or null when it ran past <paramref name="timeout"/>
    /// (it is killed then). Starting it can throw Win32Exception or InvalidOperationException.
    /// </summary>
    public static (int ExitCode, string Stdout, string Stderr)? Run(ProcessStartInfo start, TimeSpan timeout)
    {
        using var child = Process.Start(start) ?? throw new InvalidOperationException("the child did not start");
        var stderr = child.StandardError.ReadToEndAsync();
        var stdout = child.StandardOutput.ReadToEndAsync();
        if (!child.WaitForExit(timeout))
        {
            child.Kill(entireProcessTree: true);
            return null;
        }
        return (child.ExitCode, stdout.Result, stderr.Result);
    }
}
