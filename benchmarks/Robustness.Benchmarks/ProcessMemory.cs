namespace Robustness.Benchmarks;

/// <summary>Resident memory of this process, read from /proc (Linux), in MiB.</summary>
public static class ProcessMemory
{
    /// <summary>Current resident set size.</summary>
    public static double ResidentMiB()
    {
        string[] fields = File.ReadAllText("/proc/self/statm").Split(' ');
        return long.Parse(fields[1]) * Environment.SystemPageSize / 1048576.0;
    }

    /// <summary>Peak resident set size (VmHWM).</summary>
    public static double PeakMiB()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0;
        return double.NaN;
    }
}
