using System.Runtime.InteropServices;

namespace Robustness.Benchmarks;

/// <summary>
/// Turns libtorch's use of oneDNN (mkldnn) off for this process, as PyTorch's torch.backends.mkldnn.enabled = False
/// does: convolutions then run on ATen's own im2col + BLAS kernels. TorchSharp 0.107 has no binding for it, so this
/// calls at::globalContext().setUserEnabledMkldnn(false) (and NNPACK's twin) in libtorch_cpu.so by its C++ (Itanium ABI) name, the
/// Context& of globalContext() being the member function's first argument. A benchmark setting (issue 18: is
/// oneDNN capped at AVX slower than no oneDNN at all?), switched on by <see cref="Variable"/>=1 before any work.
/// </summary>
public static partial class OneDnnSwitch
{
    public const string Variable = "ROBUSTNESS_BENCH_NO_ONEDNN";

    [LibraryImport("libtorch_cpu.so", EntryPoint = "_ZN2at13globalContextEv")]
    private static partial IntPtr GlobalContext();

    [LibraryImport("libtorch_cpu.so", EntryPoint = "_ZN2at7Context20setUserEnabledMkldnnEb")]
    private static partial void SetUserEnabledMkldnn(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

    // With oneDNN off, ATen tries NNPACK next, which this CPU's build refuses with a warning per call; off too.
    [LibraryImport("libtorch_cpu.so", EntryPoint = "_ZN2at7Context20setUserEnabledNNPACKEb")]
    private static partial void SetUserEnabledNnpack(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

    [LibraryImport("libtorch_cpu.so", EntryPoint = "_ZNK2at7Context17userEnabledMkldnnEv")]
    [return: MarshalAs(UnmanagedType.U1)]
    private static partial bool UserEnabledMkldnn(IntPtr context);

    /// <summary>Whether libtorch may use oneDNN in this process.</summary>
    public static bool Enabled => UserEnabledMkldnn(GlobalContext());

    /// <summary>Applies <see cref="Variable"/> (nothing happens, and libtorch is not loaded, when it is not "1").</summary>
    public static void ApplyFromEnvironment()
    {
        if (Environment.GetEnvironmentVariable(Variable) != "1") return;
        TorchSharp.torch.get_num_threads(); // loads libtorch, whose global context the switch sets
        SetUserEnabledMkldnn(GlobalContext(), false);
        SetUserEnabledNnpack(GlobalContext(), false);
        if (Enabled) throw new InvalidOperationException("libtorch still reports oneDNN enabled after setUserEnabledMkldnn(false).");
    }
}
