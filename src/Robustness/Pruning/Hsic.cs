using Robustness.Validation;
using Robustness.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Pruning;

/// <summary>The kernels the HSIC bottleneck uses.</summary>
public enum HsicKernel
{
    /// <summary>exp(-||a_i - a_j||^2 / (2 sigma^2 d)), d the flattened feature size.</summary>
    Gaussian,

    /// <summary>a_i . a_j (for one-hot labels: 1 when two samples share a class).</summary>
    Linear,
}

/// <summary>
/// The normalised Hilbert-Schmidt independence criterion of PwoA (the "CCA" form of the HBaR code), computed in
/// matrix form on the samples' device. Samples are [m, ...] (flattened per sample); for a kernel matrix K,
/// K_bar = K H with H = I - 11^T/m (centred on the right only, as in the reference), R = K_bar (K_bar + eps m I)^-1,
/// and nHSIC(A, B) = trace(R_A R_B). Every step is differentiable, the inverse included (a linear solve).
/// Kernels accept a leading batch of kernel matrices ([..., m, m]) as well.
/// </summary>
public static class Hsic
{
    /// <summary>PwoA's Gaussian bandwidth.</summary>
    public const double DefaultSigma = 5.0;

    /// <summary>PwoA's regulariser eps of R = K_bar (K_bar + eps m I)^-1.</summary>
    public const double DefaultEpsilon = 1e-5;

    /// <summary>
    /// The Gaussian kernel matrix [m, m] of <paramref name="samples"/> [m, ...]: exp(-||a_i - a_j||^2 / (2 sigma^2 d)),
    /// d = the flattened size of one sample. Squared distances are clamped at 0 (rounding can make them slightly negative).
    /// </summary>
    public static Tensor GaussianKernel(Tensor samples, double sigma = DefaultSigma)
    {
        CheckSamples(samples);
        Require.Positive(sigma, nameof(sigma));
        using var scope = torch.NewDisposeScope();
        var x = samples.reshape(samples.shape[0], -1);
        long d = x.shape[1];
        using var scale = (-2.0 * sigma * sigma * d).ToScalar();
        var squares = x.pow(Scalars.Two).sum(1);
        var distances = (squares.unsqueeze(1) + squares.unsqueeze(0) - x.mm(x.t()).mul(Scalars.Two)).clamp_min(Scalars.Zero);
        return distances.div(scale).exp().MoveToOuterDisposeScope();
    }

    /// <summary>The linear kernel matrix [m, m] of <paramref name="samples"/> [m, ...]: a_i . a_j on the flattened samples.</summary>
    public static Tensor LinearKernel(Tensor samples)
    {
        CheckSamples(samples);
        using var scope = torch.NewDisposeScope();
        var x = samples.reshape(samples.shape[0], -1);
        return x.mm(x.t()).MoveToOuterDisposeScope();
    }

    /// <summary>The kernel matrix of <paramref name="samples"/> for <paramref name="kernel"/>.</summary>
    public static Tensor Kernel(Tensor samples, HsicKernel kernel, double sigma = DefaultSigma) => kernel switch
    {
        HsicKernel.Gaussian => GaussianKernel(samples, sigma),
        HsicKernel.Linear => LinearKernel(samples),
        _ => throw new ArgumentOutOfRangeException(nameof(kernel), kernel, "kernel must be Gaussian or Linear."),
    };

    /// <summary>
    /// R = K_bar (K_bar + eps m I)^-1 with K_bar = K H for a kernel matrix [..., m, m]. Computed by a linear solve
    /// (R^T = (K_bar + eps m I)^-T K_bar^T), which is differentiable and better conditioned than forming the inverse.
    /// </summary>
    public static Tensor RegularizedProjection(Tensor kernel, double epsilon = DefaultEpsilon)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        if (kernel.dim() < 2 || kernel.shape[^1] != kernel.shape[^2])
            throw new ArgumentException($"kernel must be a square matrix [..., m, m]; got [{string.Join(", ", kernel.shape)}].", nameof(kernel));
        Require.Positive(epsilon, nameof(epsilon));
        using var scope = torch.NewDisposeScope();
        long m = kernel.shape[^1];
        // K H subtracts each row's mean: (K H)_ij = K_ij - (1/m) sum_k K_ik.
        var centred = kernel - kernel.mean([-1L], keepdim: true);
        var identity = torch.eye(m, dtype: kernel.dtype, device: kernel.device);
        using var ridge = (epsilon * m).ToScalar();
        var regularised = centred + identity.mul(ridge);
        var transposed = torch.linalg.solve(regularised.transpose(-2, -1), centred.transpose(-2, -1));
        return transposed.transpose(-2, -1).MoveToOuterDisposeScope();
    }

    /// <summary>trace(R_A R_B) for two regularised projections [..., m, m] (from <see cref="RegularizedProjection"/>).</summary>
    public static Tensor TraceOfProduct(Tensor projectionA, Tensor projectionB)
    {
        ArgumentNullException.ThrowIfNull(projectionA);
        ArgumentNullException.ThrowIfNull(projectionB);
        if (!projectionA.shape.SequenceEqual(projectionB.shape))
            throw new ArgumentException($"Projections differ in shape: [{string.Join(", ", projectionA.shape)}] and [{string.Join(", ", projectionB.shape)}].", nameof(projectionB));
        using var scope = torch.NewDisposeScope();
        // trace(A B) = sum_ij A_ij B_ji, without forming the product.
        return projectionA.mul(projectionB.transpose(-2, -1)).sum([-2L, -1L]).MoveToOuterDisposeScope();
    }

    /// <summary>nHSIC from two kernel matrices [..., m, m].</summary>
    public static Tensor Normalized(Tensor kernelA, Tensor kernelB, double epsilon = DefaultEpsilon)
    {
        using var scope = torch.NewDisposeScope();
        return TraceOfProduct(RegularizedProjection(kernelA, epsilon), RegularizedProjection(kernelB, epsilon)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// nHSIC(A, B) of two sample sets [m, ...] (same m) with the given kernels. <paramref name="float64"/> computes
    /// in double precision (the samples are converted first; the gradient flows back through the conversion); the
    /// result is a scalar in the computation's dtype.
    /// </summary>
    public static Tensor Normalized(Tensor a, HsicKernel kernelA, Tensor b, HsicKernel kernelB,
        double sigma = DefaultSigma, double epsilon = DefaultEpsilon, bool float64 = false)
    {
        CheckSamples(a);
        CheckSamples(b);
        if (a.shape[0] != b.shape[0])
            throw new ArgumentException($"a has {a.shape[0]} samples but b has {b.shape[0]}; HSIC pairs samples.", nameof(b));
        using var scope = torch.NewDisposeScope();
        var x = float64 ? a.to_type(ScalarType.Float64) : a;
        var y = float64 ? b.to_type(ScalarType.Float64) : b;
        return Normalized(Kernel(x, kernelA, sigma), Kernel(y, kernelB, sigma), epsilon).MoveToOuterDisposeScope();
    }

    private static void CheckSamples(Tensor samples, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(samples))] string? name = null)
    {
        ArgumentNullException.ThrowIfNull(samples, name);
        if (samples.dim() < 1 || samples.shape[0] < 1)
            throw new ArgumentException($"{name} must be [m, ...] with m >= 1 samples; got [{string.Join(", ", samples.shape)}].", name);
        if (!samples.is_floating_point())
            throw new ArgumentException($"{name} must be floating point (convert labels to one-hot first); got {samples.dtype}.", name);
    }
}
