using Robustness.Validation;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Pruning;

/// <summary>
/// PwoA's HSIC bottleneck: sum over hidden representations Z_j of lambda_x nHSIC(Z_j, X) - lambda_y nHSIC(Z_j, Y),
/// with Gaussian kernels (sigma, d = flattened size) on Z_j and on the flattened input X in [0, 1], and a linear kernel
/// on the one-hot labels Y. The same lambdas for every layer. R_X and R_Y are computed once per batch and shared
/// across the layers, so a batch costs one m x m solve per layer plus two.
/// </summary>
public sealed class HsicBottleneckLoss
{
    /// <summary>Creates the term; lambdas &gt;= 0, sigma and epsilon &gt; 0, at least 2 classes.</summary>
    public HsicBottleneckLoss(int classes, double lambdaX, double lambdaY, double sigma = Hsic.DefaultSigma,
        double epsilon = Hsic.DefaultEpsilon, bool float64 = false)
    {
        Require.AtLeast(classes, 2, nameof(classes));
        if (!(lambdaX >= 0) || !double.IsFinite(lambdaX)) throw new ArgumentOutOfRangeException(nameof(lambdaX), lambdaX, "lambdaX must be a finite number >= 0.");
        if (!(lambdaY >= 0) || !double.IsFinite(lambdaY)) throw new ArgumentOutOfRangeException(nameof(lambdaY), lambdaY, "lambdaY must be a finite number >= 0.");
        Require.Positive(sigma, nameof(sigma));
        Require.Positive(epsilon, nameof(epsilon));
        Classes = classes;
        LambdaX = lambdaX;
        LambdaY = lambdaY;
        Sigma = sigma;
        Epsilon = epsilon;
        Float64 = float64;
    }

    /// <summary>Number of classes (one-hot width of Y).</summary>
    public int Classes { get; }

    /// <summary>Weight of nHSIC(Z_j, X) (penalised).</summary>
    public double LambdaX { get; }

    /// <summary>Weight of nHSIC(Z_j, Y) (rewarded).</summary>
    public double LambdaY { get; }

    /// <summary>Gaussian bandwidth.</summary>
    public double Sigma { get; }

    /// <summary>The eps of R = K_bar (K_bar + eps m I)^-1.</summary>
    public double Epsilon { get; }

    /// <summary>Compute in float64 (the loss is returned as float32 so it adds to the other terms unchanged).</summary>
    public bool Float64 { get; }

    /// <summary>
    /// The scalar term for one batch: <paramref name="images"/> [m, C, H, W] in [0, 1], <paramref name="labels"/>
    /// int64 [m], and the student's representations, each [m, ...] with the graph kept so gradients reach the weights.
    /// </summary>
    public Tensor Compute(Tensor images, Tensor labels, IReadOnlyList<Tensor> representations)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(representations);
        if (labels.dim() != 1 || labels.shape[0] != images.shape[0])
            throw new ArgumentException($"labels must be [{images.shape[0]}]; got [{string.Join(", ", labels.shape)}].", nameof(labels));
        using var scope = torch.NewDisposeScope();
        var dtype = Float64 ? ScalarType.Float64 : ScalarType.Float32;
        var x = images.detach().to_type(dtype);
        var oneHot = torch.eye(Classes, dtype: dtype, device: images.device).index_select(0, labels);
        var projectionX = Hsic.RegularizedProjection(Hsic.GaussianKernel(x, Sigma), Epsilon);
        var projectionY = Hsic.RegularizedProjection(Hsic.LinearKernel(oneHot), Epsilon);
        var total = torch.zeros(Array.Empty<long>(), dtype: dtype, device: images.device);
        using Scalar lambdaX = LambdaX.ToScalar(), lambdaY = LambdaY.ToScalar();
        foreach (var z in representations)
        {
            if (z.shape[0] != images.shape[0])
                throw new ArgumentException($"A representation has {z.shape[0]} samples, the batch {images.shape[0]}.", nameof(representations));
            var projectionZ = Hsic.RegularizedProjection(Hsic.GaussianKernel(z.to_type(dtype), Sigma), Epsilon);
            if (LambdaX != 0) total = total + Hsic.TraceOfProduct(projectionZ, projectionX).mul(lambdaX);
            if (LambdaY != 0) total = total - Hsic.TraceOfProduct(projectionZ, projectionY).mul(lambdaY);
        }
        return total.to_type(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public override string ToString() => FormattableString.Invariant($"hsic(lambda_x={LambdaX}, lambda_y={LambdaY}, sigma={Sigma})");
}
