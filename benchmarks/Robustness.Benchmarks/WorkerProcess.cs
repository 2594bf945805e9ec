using System.Diagnostics;
using System.Text.Json;

namespace Robustness.Benchmarks;

/// <summary>Runs one measurement in a child process and reads the JSON line it prints last.</summary>
public static class WorkerProcess
{
    /// <param name="fileName">The program.</param>
    /// <param name="arguments">Its arguments.</param>
    /// <param name="workingDirectory">Its working folder (default: this one's).</param>
    /// <param name="environment">Variables to set (a null value removes the variable) on top of this process's environment.</param>
    public static JsonElement Run(string fileName, IEnumerable<string> arguments, string? workingDirectory = null,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        var start = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in arguments) start.ArgumentList.Add(a);
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
            if (value is null) start.Environment.Remove(name);
            else start.Environment[name] = value;
        if (workingDirectory is not null) start.WorkingDirectory = workingDirectory;
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{fileName} {string.Join(' ', start.ArgumentList)} failed ({process.ExitCode}): {stderr.Result}");
        string last = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last(l => l.TrimStart().StartsWith('{'));
        return JsonDocument.Parse(last).RootElement.Clone();
    }

    /// <summary>The rate a worker reported: images/s for <c>img/s</c>, else passes/s.</summary>
    public static double Rate(JsonElement result, string unit) =>
        unit == "img/s" ? result.GetProperty("images_per_second").GetDouble() : result.GetProperty("passes_per_second").GetDouble();

    /// <summary>Every repeat's rate, rounded, for a results table.</summary>
    public static string Each(IEnumerable<double> values) =>
        string.Join(", ", values.Select(v => v.ToString("F0", System.Globalization.CultureInfo.InvariantCulture)));

    /// <summary>This program, as a command line that re-runs it (dotnet + dll, or the apphost).</summary>
    public static (string FileName, string[] Prefix) Self()
    {
        string dll = typeof(WorkerProcess).Assembly.Location;
        return ("dotnet", [dll]);
    }
}
