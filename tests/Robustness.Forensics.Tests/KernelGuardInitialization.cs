using System.Runtime.CompilerServices;

namespace Robustness.Forensics.Tests;

/// <summary>
/// The library applies its kernel guard on first use; a test that calls TorchSharp before touching the library would
/// otherwise let oneDNN pick its AVX-512 kernels for the whole test process (they are read once, at the first primitive).
/// </summary>
internal static class KernelGuardInitialization
{
    [ModuleInitializer]
    internal static void Apply() => _ = Robustness.Runtime.KernelGuard.Status;
}
