namespace Robustness.Runtime;

/// <summary>What <see cref="OpenMpWaiting"/> did in this process.</summary>
/// <param name="SpinCount">The <c>GOMP_SPINCOUNT</c> this process runs with, or null when libgomp's default applies.</param>
/// <param name="SetHere">True when the library set it; false when the user's own setting was kept, or none could be set.</param>
/// <param name="Explanation">One sentence for people (printed by <c>robustness doctor</c>).</param>
public sealed record OpenMpWaitingStatus(string? SpinCount, bool SetHere, string Explanation);

/// <summary>
/// Bounds how long libtorch's OpenMP threads (its bundled libgomp) spin at a barrier before they sleep. With libgomp's
/// default and a second busy process on the same cores, oneDNN's GEMM-based channels-last backward-data convolution (the
/// kernel the guard's AVX cap leaves for channels-last input gradients: SEP crafting, attacks) stalled on the 2-core
/// Turin-like EPYC (2026-12-07; ONEDNN_VERBOSE: about 2 s per convolution on 32x32 and 16x16 maps), while plain NCHW
/// convolutions did not: one thread spinning at a barrier holds a core the other thread of the same region needs.
/// benchmarks/results/openmp-waiting-cpu.md measures it: beside a second copy of itself, PGD-10 ran at 49 against 11
/// images/s per process with this spin limit and SEP crafting at 162 against 73 passes/s; alone, 0.94 to 1.05x.
/// libgomp reads its settings once, when libtorch is loaded, so this runs from the library's module initializer, before
/// the library's own code can load libtorch (a program that calls TorchSharp before any type of this library keeps
/// libgomp's default). A user's <c>GOMP_SPINCOUNT</c> or <c>OMP_WAIT_POLICY</c> is kept.
/// </summary>
public static class OpenMpWaiting
{
    /// <summary>libgomp's spin limit, in spins of its wait loop before a thread sleeps on a futex.</summary>
    public const string SpinCountVariable = "GOMP_SPINCOUNT";

    /// <summary>The OpenMP standard's wait policy (ACTIVE or PASSIVE); when set, libgomp derives its spin limit from it.</summary>
    public const string WaitPolicyVariable = "OMP_WAIT_POLICY";

    /// <summary>The spin limit the library sets (libgomp's own default is 300,000 spins, its throttled one 1,000).</summary>
    public const string LibrarySpinCount = "1000";

    private static readonly Lazy<OpenMpWaitingStatus> Applied = new(Apply);

    /// <summary>The decision for this process (applied at the latest on first use of this library).</summary>
    public static OpenMpWaitingStatus Status => Applied.Value;

    /// <summary>What the library does given the user's <see cref="SpinCountVariable"/> and <see cref="WaitPolicyVariable"/> (null when unset). Pure.</summary>
    public static OpenMpWaitingStatus Decide(string? userSpinCount, string? userWaitPolicy)
    {
        if (userSpinCount is not null)
            return new(userSpinCount, false, $"{SpinCountVariable}={userSpinCount} was set before start-up and is kept.");
        if (userWaitPolicy is not null)
            return new(null, false, $"{WaitPolicyVariable}={userWaitPolicy} was set before start-up and is kept (libgomp derives its spin limit from it).");
        return new(LibrarySpinCount, true,
            $"{SpinCountVariable}={LibrarySpinCount}: OpenMP threads sleep after a short spin, so a second busy process on the same cores cannot stall channels-last convolutions (set {SpinCountVariable} or {WaitPolicyVariable} yourself to choose).");
    }

    // Runs from the module initializer: it must not throw.
    private static OpenMpWaitingStatus Apply()
    {
        try
        {
            var status = Decide(NativeEnvironment.Get(SpinCountVariable), NativeEnvironment.Get(WaitPolicyVariable));
            if (status.SetHere) NativeEnvironment.SetIfUnset(SpinCountVariable, LibrarySpinCount);
            return status;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or InvalidOperationException)
        {
            return new(null, false, $"{SpinCountVariable} could not be set in this process ({e.Message}); libgomp's default applies.");
        }
    }
}
