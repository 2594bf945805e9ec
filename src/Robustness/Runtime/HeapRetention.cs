using System.Globalization;
using System.Runtime.InteropServices;

namespace Robustness.Runtime;

/// <summary>What <see cref="HeapRetention"/> did in this process.</summary>
/// <param name="SetHere">True when the library set glibc's thresholds; false when the user's own malloc settings were kept, or none could be set.</param>
/// <param name="Explanation">One sentence for people (printed by <c>robustness doctor</c>).</param>
public sealed record HeapRetentionStatus(bool SetHere, string Explanation);

/// <summary>
/// Keeps freed tensor memory in glibc's heap for the next allocation instead of handing it back to the kernel. libtorch
/// allocates every CPU tensor with the C library's allocator, and with glibc's defaults a buffer above the mmap
/// threshold (128 KiB at first, then adapted up to the largest one freed) is a fresh <c>mmap</c>, and free memory at
/// the heap's top beyond the trim threshold is returned: an attack step or a training step, which allocates and frees
/// the same activation buffers every iteration, then page-faults and zeroes them again every iteration (system time
/// instead of arithmetic). On the 2-core Turin-like AMD EPYC (2026-12-07) keeping them made PGD-10 1.74x as fast,
/// SEP crafting 1.64x and Trainer steps 1.36 to 1.60x (benchmarks/results/heap-retention-cpu.md); PyTorch in Python
/// pays the same (its CPU allocator is the same malloc) and gains 1.6 to 2.4x from the same settings. So on Linux
/// with glibc the library sets the mmap
/// threshold to 32 MiB (the largest glibc accepts on 64-bit; larger buffers stay mmap'd), the trim threshold to 1 GiB
/// (at most that much free memory stays in a heap above the live tensors) and the top pad to 64 MiB
/// (<see cref="TopPad"/>), once, from the module initializer.
/// A user who sets glibc's malloc variables (<c>MALLOC_MMAP_THRESHOLD_</c>, <c>MALLOC_TRIM_THRESHOLD_</c>, or
/// <c>glibc.malloc.*</c> in <c>GLIBC_TUNABLES</c>) keeps them; <c>ROBUSTNESS_HEAP_RETENTION=off</c> keeps glibc's defaults.
/// </summary>
public static class HeapRetention
{
    /// <summary>The mmap threshold the library sets, in bytes (32 MiB: glibc's ceiling on 64-bit).</summary>
    public const int MmapThreshold = 32 << 20;

    /// <summary>The trim threshold the library sets, in bytes (1 GiB).</summary>
    public const int TrimThreshold = 1 << 30;

    /// <summary>
    /// The top pad the library sets, in bytes (64 MiB): how much more than asked a heap grows by, and keeps when it
    /// shrinks. A thread other than the process's first allocates from its own arena, built of 64 MiB heaps that glibc
    /// unmaps as soon as one is empty unless the pad covers it; without the pad, tensors made on a thread-pool thread
    /// (xunit, async commands) still page-faulted every step.
    /// </summary>
    public const int TopPad = 64 << 20;

    /// <summary>Set to <c>off</c> to leave glibc's malloc at its defaults (e.g. to measure what retention changes).</summary>
    public const string SwitchVariable = "ROBUSTNESS_HEAP_RETENTION";

    /// <summary>The environment variables through which a user chooses glibc's malloc behaviour themselves.</summary>
    public static readonly IReadOnlyList<string> UserVariables = ["MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_", "GLIBC_TUNABLES"];

    // glibc's mallopt parameters (malloc.h).
    private const int MTrimThreshold = -1;
    private const int MMmapThreshold = -3;
    private const int MTopPad = -2;

    private static readonly Lazy<HeapRetentionStatus> Applied = new(Apply);

    /// <summary>The decision for this process (applied at the latest on first use of this library).</summary>
    public static HeapRetentionStatus Status => Applied.Value;

    /// <summary>
    /// Whether the library sets the thresholds, given whether the process runs on glibc and the user's malloc
    /// variables (name to value; null values are unset). Pure. A <c>GLIBC_TUNABLES</c> without <c>glibc.malloc.</c>
    /// entries is not a malloc choice.
    /// </summary>
    public static HeapRetentionStatus Decide(bool glibc, IReadOnlyDictionary<string, string?> userVariables, string? switchValue = null)
    {
        ArgumentNullException.ThrowIfNull(userVariables);
        if (string.Equals(switchValue?.Trim(), "off", StringComparison.OrdinalIgnoreCase))
            return new(false, $"{SwitchVariable}=off: glibc's malloc defaults apply (freed tensor memory goes back to the kernel and is page-faulted in again).");
        if (!glibc)
            return new(false, "not glibc (Linux with glibc only): the C library's own allocator settings apply.");
        foreach (var (name, value) in userVariables)
        {
            if (value is null) continue;
            if (name == "GLIBC_TUNABLES" && !value.Contains("glibc.malloc.", StringComparison.Ordinal)) continue;
            return new(false, $"{name}={value} was set before start-up and is kept (glibc's malloc is the user's choice).");
        }
        return new(true, string.Create(CultureInfo.InvariantCulture,
            $"glibc keeps freed tensor memory for reuse (mmap threshold {MmapThreshold >> 20} MiB, trim threshold {TrimThreshold >> 20} MiB, top pad {TopPad >> 20} MiB), so steps do not page-fault their buffers in again (set MALLOC_TRIM_THRESHOLD_ or MALLOC_MMAP_THRESHOLD_ yourself to choose, or {SwitchVariable}=off for glibc's defaults)."));
    }

    /// <summary>Whether the decision has been applied (the module initializer applies it when the assembly loads).</summary>
    internal static bool IsApplied => Applied.IsValueCreated;

    /// <summary><see cref="Decide"/> for this process: its C library, its malloc variables and its switch.</summary>
    internal static HeapRetentionStatus DecideForThisProcess() =>
        Decide(OperatingSystem.IsLinux() && RunsOnGlibc(), UserVariables.ToDictionary(name => name, NativeEnvironment.Get),
            Environment.GetEnvironmentVariable(SwitchVariable));

    // Runs from the module initializer: it must not throw.
    private static HeapRetentionStatus Apply()
    {
        try
        {
            var status = DecideForThisProcess();
            if (!status.SetHere) return status;
            // mallopt returns 1 on success. The mmap threshold first: setting it also turns off glibc's adaptation of both.
            if (mallopt(MMmapThreshold, MmapThreshold) != 1 || mallopt(MTrimThreshold, TrimThreshold) != 1 || mallopt(MTopPad, TopPad) != 1)
                return new(false, "glibc refused the thresholds (mallopt returned 0); its defaults apply.");
            return status;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or InvalidOperationException)
        {
            return new(false, $"glibc's malloc thresholds could not be set in this process ({e.Message}); the defaults apply.");
        }
    }

    // gnu_get_libc_version exists in glibc only (musl has mallopt as a no-op stub).
    private static bool RunsOnGlibc()
    {
        try { return gnu_get_libc_version() != IntPtr.Zero; }
        catch (EntryPointNotFoundException) { return false; }
    }

    [DllImport("libc", ExactSpelling = true)]
    private static extern int mallopt(int parameter, int value);

    [DllImport("libc", ExactSpelling = true)]
    private static extern IntPtr gnu_get_libc_version();
}
