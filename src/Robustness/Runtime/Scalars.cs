using TorchSharp;

namespace Robustness.Runtime;

/// <summary>
/// The constant Scalars the library hands to libtorch, each held by a static field for the life of the process.
/// </summary>
/// <remarks>
/// Why the library never lets a number become a Scalar implicitly: TorchSharp 0.107 turns a number passed where a
/// Scalar is expected (<c>x.clamp(0f, 1f)</c>, <c>x.masked_fill(m, double.NegativeInfinity)</c>) and every
/// Tensor-number operator (<c>x * 0.5</c>) into a temporary Scalar that nothing references once its native handle
/// has been read. A garbage collection started by another thread during the native call may then finalise it, and
/// the finalizer frees the native scalar while libtorch is still reading it: a use-after-free that surfaced once in
/// a long benchmark run as "Unknown scalar type". So constants come from here and other values are made with
/// <c>using var s = value.ToScalar();</c>, which keeps them referenced until the end of the block.
/// A test (<c>TemporaryScalarGuardTests</c>) compiles the library and fails on any implicit conversion.
/// </remarks>
internal static class Scalars
{
    /// <summary>Integer 0 (an integral Scalar keeps integer tensors integral and is exact for float tensors).</summary>
    public static readonly Scalar Zero;

    /// <summary>Integer 1.</summary>
    public static readonly Scalar One;

    /// <summary>Integer 2.</summary>
    public static readonly Scalar Two;

    /// <summary>0.5 (double).</summary>
    public static readonly Scalar Half;

    /// <summary>255 (integer): the number of 8-bit grey levels above 0.</summary>
    public static readonly Scalar Levels255;

    /// <summary>+infinity (double).</summary>
    public static readonly Scalar PositiveInfinity;

    /// <summary>-infinity (double).</summary>
    public static readonly Scalar NegativeInfinity;

    /// <summary>Boolean true.</summary>
    public static readonly Scalar True;

    /// <summary>Boolean false.</summary>
    public static readonly Scalar False;

    // An explicit static constructor: the fields are made on first use (libtorch is loaded by then, by whatever made
    // the tensors), never earlier, so they cannot load the bundled libtorch before TorchRuntime chose another one.
    static Scalars()
    {
        Zero = 0.ToScalar();
        One = 1.ToScalar();
        Two = 2.ToScalar();
        Half = 0.5.ToScalar();
        Levels255 = 255.ToScalar();
        PositiveInfinity = double.PositiveInfinity.ToScalar();
        NegativeInfinity = double.NegativeInfinity.ToScalar();
        True = true.ToScalar();
        False = false.ToScalar();
    }
}
