using System.Runtime.InteropServices;

namespace Robustness.Benchmarks;

/// <summary>What machine a result was measured on, written beside every result.</summary>
public sealed record MachineInfo(string Cpu, int Cores, string Os, string DotNet, string Date)
{
    public static MachineInfo Current()
    {
        string cpu = "unknown";
        if (File.Exists("/proc/cpuinfo"))
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
        return new MachineInfo(cpu, Environment.ProcessorCount, RuntimeInformation.OSDescription, RuntimeInformation.FrameworkDescription,
            DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'"));
    }
}
