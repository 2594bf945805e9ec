namespace Robustness.Runtime;

/// <summary>What <see cref="HugePages"/> did in this process.</summary>
/// <param name="SetHere">True when the library turned libtorch's huge-page allocation on; false when the user's setting was kept or it does not apply.</param>
/// <param name="Explanation">One sentence for people (printed by <c>robustness doctor</c>).</param>
public sealed record HugePagesStatus(bool SetHere, string Explanation);

/// <summary>
/// Asks libtorch to back its large CPU tensors with transparent huge pages. Buffers above glibc's largest mmap threshold
/// (32 MiB, see <see cref="HeapRetention"/>) are still fresh mappings every time: a ConvNet-4 step at batch 512 (model
/// parsing's recipe; 134 MB per activation) or a ResNet step at batch 128 allocates several, and the kernel faults them
/// in 4 KiB at a time. libtorch (2.2 and later) aligns allocations of 2 MiB and more to 2 MiB and advises the kernel to
/// use huge pages for them when <c>THP_MEM_ALLOC_ENABLE=1</c>, which it reads once, at its first CPU allocation; so the
/// library sets it from the module initializer, on Linux when the kernel's transparent huge pages are <c>always</c> or
/// <c>madvise</c> (with <c>never</c>, libtorch's advice would fail and warn). Measured on the 2-core Turin-like EPYC
/// (2026-12-08, beside another process): a ConvNet-4 training step at batch 512 took 1.5 s instead of 4.3 s, system time
/// 0.28 s instead of 1.5 s. A user's <c>THP_MEM_ALLOC_ENABLE</c> is kept; <c>ROBUSTNESS_HUGE_PAGES=off</c> leaves it unset.
/// </summary>
public static class HugePages
{
    /// <summary>libtorch's switch (c10's CPU allocator).</summary>
    public const string Variable = "THP_MEM_ALLOC_ENABLE";

    /// <summary>Set to <c>off</c> to leave libtorch's allocation with normal pages.</summary>
    public const string SwitchVariable = "ROBUSTNESS_HUGE_PAGES";

    /// <summary>Where Linux says whether transparent huge pages are used: the mode in brackets, e.g. <c>always [madvise] never</c>.</summary>
    public const string SystemSetting = "/sys/kernel/mm/transparent_hugepage/enabled";

    private static readonly Lazy<HugePagesStatus> Applied = new(Apply);

    /// <summary>The decision for this process (applied at the latest on first use of this library).</summary>
    public static HugePagesStatus Status => Applied.Value;

    /// <summary>
    /// Whether the library turns huge pages on, given the kernel's setting (the text of <see cref="SystemSetting"/>, null
    /// when absent: not Linux, or no transparent huge pages), the user's <see cref="Variable"/> and the switch. Pure.
    /// </summary>
    public static HugePagesStatus Decide(string? systemSetting, string? userValue, string? switchValue = null)
    {
        if (string.Equals(switchValue?.Trim(), "off", StringComparison.OrdinalIgnoreCase))
            return new(false, $"{SwitchVariable}=off: libtorch allocates large tensors with normal 4 KiB pages.");
        if (userValue is not null)
            return new(false, $"{Variable}={userValue} was set before start-up and is kept.");
        string? mode = Mode(systemSetting);
        if (mode is null)
            return new(false, "no transparent huge pages on this system (Linux only): large tensors use normal pages.");
        if (mode is not ("always" or "madvise"))
            return new(false, $"transparent huge pages are '{mode}' on this system: large tensors use normal pages.");
        return new(true, $"{Variable}=1: libtorch backs tensors of 2 MiB and more with huge pages (the kernel's mode is '{mode}'), so large buffers are not faulted in 4 KiB at a time ({SwitchVariable}=off to leave it).");
    }

    /// <summary>The selected mode of a <see cref="SystemSetting"/> text (the word in brackets), or null.</summary>
    public static string? Mode(string? systemSetting)
    {
        if (systemSetting is null) return null;
        int open = systemSetting.IndexOf('['), close = systemSetting.IndexOf(']');
        return open >= 0 && close > open + 1 ? systemSetting[(open + 1)..close] : null;
    }

    /// <summary>Whether the decision has been applied (the module initializer applies it when the assembly loads).</summary>
    internal static bool IsApplied => Applied.IsValueCreated;

    /// <summary><see cref="Decide"/> for this process: its kernel setting, its variable and its switch.</summary>
    internal static HugePagesStatus DecideForThisProcess() =>
        Decide(OperatingSystem.IsLinux() && File.Exists(SystemSetting) ? File.ReadAllText(SystemSetting) : null, NativeEnvironment.Get(Variable),
            Environment.GetEnvironmentVariable(SwitchVariable));

    // Runs from the module initializer: it must not throw.
    private static HugePagesStatus Apply()
    {
        try
        {
            var status = DecideForThisProcess();
            if (status.SetHere) NativeEnvironment.SetIfUnset(Variable, "1");
            return status;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            return new(false, $"{Variable} could not be set in this process ({e.Message}); large tensors use normal pages.");
        }
    }
}
