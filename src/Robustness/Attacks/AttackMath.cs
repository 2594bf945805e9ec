using Robustness.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Attacks;

/// <summary>
/// The arithmetic every attack shares: per-image norms, projections onto budget balls, steepest-ascent directions,
/// random starts, input gradients and the standard attack losses. All functions work on batches [N, ...] and treat
/// each image separately; results are created in the caller's dispose scope.
/// </summary>
public static class AttackMath
{
    private const double Tiny = 1e-12;

    /// <summary>||delta_i|| for each image i, [N].</summary>
    public static Tensor PerSampleNorm(Tensor delta, Norm norm)
    {
        var flat = delta.flatten(1);
        return norm switch
        {
            Norm.Linf => flat.abs().amax(1),
            Norm.L2 => flat.square().sum(1).sqrt(),
            _ => flat.abs().sum(1),
        };
    }

    /// <summary>Projects each image's perturbation onto the <paramref name="norm"/> ball of radius <paramref name="epsilon"/>.</summary>
    public static Tensor Project(Tensor delta, Norm norm, double epsilon)
    {
        switch (norm)
        {
            case Norm.Linf:
            {
                using Scalar low = (-epsilon).ToScalar(), high = epsilon.ToScalar();
                return delta.clamp(low, high);
            }
            case Norm.L2:
            {
                using Scalar eps = epsilon.ToScalar(), tiny = Tiny.ToScalar();
                var norms = PerSampleNorm(delta, Norm.L2);
                var factor = (eps / (norms + tiny)).clamp_max(Scalars.One);
                return delta * Broadcast(factor, delta);
            }
            default:
                return ProjectL1(delta, epsilon);
        }
    }

    /// <summary>
    /// <paramref name="adversarial"/> put back into [0,1] and the <paramref name="norm"/> ball of radius
    /// <paramref name="epsilon"/> around <paramref name="clean"/>, such that the float32 result itself is within the
    /// budget (for l1 and l2 exactly; for l-inf up to half a float32 ulp, as before). For l1 and l2 the projection runs in
    /// float64 onto a radius smaller by the most that rounding the result to float32 can add (2^-25 per value, which
    /// is at most 1 here): n 2^-25 for l1, sqrt(n) 2^-25 for l2, n values per image (9e-5 and 2e-6 for a 32x32 RGB
    /// image). Projected in float32 and added, the result's l1 norm exceeded eps = 12 by 1.7e-5 with one CPU's kernels.
    /// </summary>
    public static Tensor ClampToBudget(Tensor clean, Tensor adversarial, Norm norm, double epsilon)
    {
        ArgumentNullException.ThrowIfNull(clean);
        ArgumentNullException.ThrowIfNull(adversarial);
        if (norm == Norm.Linf) return (clean + Project(adversarial - clean, norm, epsilon)).clamp(Scalars.Zero, Scalars.One);
        using var scope = torch.NewDisposeScope();
        var x = clean.to(ScalarType.Float64);
        var delta = adversarial.to(ScalarType.Float64) - x;
        long values = clean.shape.Skip(1).Aggregate(1L, (a, b) => a * b);
        double rounding = Math.Pow(2, -25) * (norm == Norm.L1 ? values : Math.Sqrt(values));
        // A budget below what float32 can resolve keeps the clean image: nothing smaller is guaranteed to hold.
        var projected = Project(delta, norm, Math.Max(0, epsilon - rounding));
        return (x + projected).clamp(Scalars.Zero, Scalars.One).to(clean.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The unit-size steepest-ascent direction of <paramref name="gradient"/> for the norm: sign(g) for l-inf,
    /// g / ||g||_2 for l2, and for l1 the sign of the largest-magnitude coordinates (the top 1% of each image,
    /// at least one), scaled to unit l1 length.
    /// </summary>
    public static Tensor SteepestDirection(Tensor gradient, Norm norm)
    {
        switch (norm)
        {
            case Norm.Linf:
                return gradient.sign();
            case Norm.L2:
            {
                using var tiny = Tiny.ToScalar();
                return gradient / Broadcast(PerSampleNorm(gradient, Norm.L2) + tiny, gradient);
            }
            default:
            {
                using var tiny = Tiny.ToScalar();
                var flat = gradient.flatten(1);
                long k = Math.Max(1, flat.shape[1] / 100);
                var threshold = flat.abs().topk((int)k, 1).values.select(1, k - 1).unsqueeze(1);
                var mask = flat.abs().ge(threshold).to(flat.dtype);
                var direction = flat.sign() * mask;
                direction = direction / (direction.abs().sum(1, keepdim: true) + tiny);
                return direction.view(gradient.shape);
            }
        }
    }

    /// <summary>
    /// A random perturbation inside the ball: uniform in [-eps, eps] per pixel for l-inf; for l2 and l1 a random
    /// direction (Gaussian, resp. Laplace) scaled to a radius drawn uniformly in [0, eps]. Drawn on the CPU from
    /// <paramref name="generator"/> and moved to <paramref name="device"/>, so a seed gives the same start anywhere.
    /// </summary>
    public static Tensor RandomInBall(long[] shape, Norm norm, double epsilon, Generator generator, Device device)
    {
        using var eps = epsilon.ToScalar();
        if (norm == Norm.Linf)
        {
            using var width = (2 * epsilon).ToScalar();
            return (torch.rand(shape, generator: generator) * width - eps).to(device);
        }
        var direction = norm == Norm.L2
            ? torch.randn(shape, generator: generator)
            : torch.rand(shape, generator: generator).log().neg() * (torch.rand(shape, generator: generator).lt(Scalars.Half).to(ScalarType.Float32) * Scalars.Two - Scalars.One);
        var radius = torch.rand([shape[0]], generator: generator) * eps;
        using var tiny = Tiny.ToScalar();
        var unit = direction / Broadcast(PerSampleNorm(direction, norm) + tiny, direction);
        return (unit * Broadcast(radius, unit)).to(device);
    }

    /// <summary>
    /// Per-image loss, its gradient with respect to the images, and the logits, in one forward and one backward
    /// pass. Only the input receives a gradient: the model's parameters are left untouched (no .grad written).
    /// </summary>
    public static (Tensor Loss, Tensor Gradient, Tensor Logits) LossAndGradient(Classifier classifier, Tensor images, Func<Tensor, Tensor> perSampleLoss)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(perSampleLoss);
        using var enable = torch.enable_grad();
        var x = images.detach().requires_grad_(true);
        var logits = classifier.Forward(x);
        var loss = perSampleLoss(logits);
        var gradient = torch.autograd.grad([loss.sum()], [x])[0];
        return (loss.detach(), gradient.detach(), logits.detach());
    }

    /// <summary>
    /// Like <see cref="LossAndGradient"/>, but the model sees <paramref name="transform"/>(images) and the gradient is
    /// taken through the transform back to the images (input diversity, expectation over transformation). The logits
    /// are those of the transformed images. No parameter .grad is written.
    /// </summary>
    public static (Tensor Loss, Tensor Gradient, Tensor Logits) LossAndGradientThrough(Classifier classifier, Tensor images,
        Func<Tensor, Tensor> transform, Func<Tensor, Tensor> perSampleLoss)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(transform);
        ArgumentNullException.ThrowIfNull(perSampleLoss);
        using var enable = torch.enable_grad();
        var x = images.detach().requires_grad_(true);
        var logits = classifier.Forward(transform(x));
        var loss = perSampleLoss(logits);
        var gradient = torch.autograd.grad([loss.sum()], [x])[0];
        return (loss.detach(), gradient.detach(), logits.detach());
    }

    /// <summary>Gradient of the summed per-image loss with respect to the images.</summary>
    public static Tensor InputGradient(Classifier classifier, Tensor images, Func<Tensor, Tensor> perSampleLoss) =>
        LossAndGradient(classifier, images, perSampleLoss).Gradient;

    /// <summary>Cross-entropy per image, [N].</summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor labels) =>
        torch.nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.None);

    /// <summary>
    /// The difference-of-logits-ratio loss of Croce and Hein (2020), per image:
    /// -(z_y - max_{i != y} z_i) / (z_(1) - z_(3) + 1e-12), with z sorted in decreasing order. Scale invariant.
    /// </summary>
    public static Tensor Dlr(Tensor logits, Tensor labels)
    {
        var sorted = logits.sort(1, descending: true).Values;
        var zy = logits.gather(1, labels.unsqueeze(1)).squeeze(1);
        var other = MaxOther(logits, labels);
        using var tiny = Tiny.ToScalar();
        return -(zy - other) / (sorted.select(1, 0) - sorted.select(1, 2) + tiny);
    }

    /// <summary>
    /// The targeted DLR loss, per image: -(z_y - z_t) / (z_(1) - (z_(3) + z_(4)) / 2 + 1e-12). Needs at least 4 classes.
    /// </summary>
    public static Tensor TargetedDlr(Tensor logits, Tensor labels, Tensor targets)
    {
        if (logits.shape[1] < 4) throw new ArgumentException("The targeted DLR loss needs at least 4 classes.", nameof(logits));
        var sorted = logits.sort(1, descending: true).Values;
        var zy = logits.gather(1, labels.unsqueeze(1)).squeeze(1);
        var zt = logits.gather(1, targets.unsqueeze(1)).squeeze(1);
        using var tiny = Tiny.ToScalar();
        return -(zy - zt) / (sorted.select(1, 0) - (sorted.select(1, 2) + sorted.select(1, 3)) / Scalars.Two + tiny);
    }

    /// <summary>The largest logit among the classes other than <paramref name="labels"/>, [N].</summary>
    public static Tensor MaxOther(Tensor logits, Tensor labels)
    {
        var mask = torch.nn.functional.one_hot(labels, logits.shape[1]).to(ScalarType.Bool);
        return logits.masked_fill(mask, Scalars.NegativeInfinity).amax(1);
    }

    /// <summary>The logit margin z_y - max_{i != y} z_i, [N]: positive when the image is classified as y.</summary>
    public static Tensor Margin(Tensor logits, Tensor labels) =>
        logits.gather(1, labels.unsqueeze(1)).squeeze(1) - MaxOther(logits, labels);

    /// <summary>Reshapes a per-image vector [N] to broadcast against <paramref name="like"/> [N, ...].</summary>
    public static Tensor Broadcast(Tensor perSample, Tensor like)
    {
        var shape = new long[like.dim()];
        Array.Fill(shape, 1L);
        shape[0] = perSample.shape[0];
        return perSample.view(shape);
    }

    // Euclidean projection onto the l1 ball (Duchi et al., 2008), vectorised over the batch.
    private static Tensor ProjectL1(Tensor delta, double epsilon)
    {
        var flat = delta.flatten(1);
        using Scalar eps = epsilon.ToScalar(), rankEnd = (flat.shape[1] + 1).ToScalar();
        var magnitude = flat.abs();
        var inside = magnitude.sum(1).le(eps);
        var sorted = magnitude.sort(1, descending: true).Values;
        var cumulative = sorted.cumsum(1);
        // The step is passed too: arange(start, stop) would make a temporary Scalar of 1 inside TorchSharp.
        var ranks = torch.arange(Scalars.One, rankEnd, Scalars.One, dtype: flat.dtype, device: flat.device).unsqueeze(0);
        var condition = sorted - (cumulative - eps) / ranks;
        var rho = (condition.gt(Scalars.Zero).to(ScalarType.Int64) * ranks.to(ScalarType.Int64)).amax([1L], keepdim: true).clamp_min(Scalars.One);
        var theta = (cumulative.gather(1, rho - Scalars.One) - eps) / rho.to(flat.dtype);
        var projected = flat.sign() * (magnitude - theta).clamp_min(Scalars.Zero);
        var result = torch.where(inside.unsqueeze(1), flat, projected);
        return result.view(delta.shape);
    }
}
