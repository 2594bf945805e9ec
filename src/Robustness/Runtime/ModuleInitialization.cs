using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Robustness.Runtime;

/// <summary>Runs before any code of this library, so nothing here can reach libtorch before the kernel guard is set.</summary>
internal static class ModuleInitialization
{
    // CA2255 warns libraries off module initialisers because they run implicitly. That is the point here: oneDNN reads
    // its ISA cap once, at its first primitive, and a user's first call may be any type of this library.
    [SuppressMessage("Usage", "CA2255:The 'ModuleInitializer' attribute should not be used in libraries",
        Justification = "The kernel guard must be in the native environment before libtorch creates its first oneDNN primitive.")]
    [ModuleInitializer]
    internal static void ApplyKernelGuard() => _ = KernelGuard.Status;
}
