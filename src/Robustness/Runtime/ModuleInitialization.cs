using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Robustness.Runtime;

/// <summary>
/// Runs before any code of this library, so nothing here can reach libtorch before the kernel guard and the OpenMP wait
/// setting are in the native environment, and glibc keeps freed tensor memory (<see cref="HeapRetention"/>) and
/// libtorch backs large tensors with huge pages (<see cref="HugePages"/>) from the first tensor on.
/// </summary>
internal static class ModuleInitialization
{
    // CA2255 warns libraries off module initialisers because they run implicitly. That is the point here: oneDNN reads
    // its ISA cap once, at its first primitive, libgomp its spin limit once, when libtorch is loaded, and a user's first
    // call may be any type of this library.
    [SuppressMessage("Usage", "CA2255:The 'ModuleInitializer' attribute should not be used in libraries",
        Justification = "The kernel guard and the OpenMP wait setting must be in the native environment before libtorch is loaded and creates its first oneDNN primitive.")]
    [ModuleInitializer]
    internal static void ApplyNativeSettings()
    {
        _ = HugePages.Status; // first: libtorch reads it at its first CPU allocation
        _ = KernelGuard.Status;
        _ = OpenMpWaiting.Status;
        _ = HeapRetention.Status;
    }
}
