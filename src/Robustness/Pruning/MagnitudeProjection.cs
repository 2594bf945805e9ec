using Robustness.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Pruning;

/// <summary>
/// The Euclidean projection Pi_p onto tensors with at most a fraction p of non-zeros removed, per layer: zero the
/// <c>round(p * n)</c> entries of smallest magnitude (exactly that many, ties broken by position: among equal
/// magnitudes the lower flat index goes first, via a stable sort). PwoA's code thresholds at a percentile, which
/// zeroes a count that depends on ties and interpolation; an exact count makes the reported sparsity exact.
/// </summary>
public static class MagnitudeProjection
{
    /// <summary>How many of <paramref name="total"/> entries sparsity <paramref name="sparsity"/> removes: round(p * n), halves away from zero.</summary>
    public static long PrunedCount(long total, double sparsity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(total);
        CheckSparsity(sparsity);
        return (long)Math.Round(sparsity * total, MidpointRounding.AwayFromZero);
    }

    /// <summary>A bool tensor of <paramref name="weight"/>'s shape and device: false at the round(p*n) smallest |w|, true elsewhere.</summary>
    public static Tensor KeepMask(Tensor weight, double sparsity)
    {
        ArgumentNullException.ThrowIfNull(weight);
        long pruned = PrunedCount(weight.numel(), sparsity);
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var keep = torch.ones(weight.numel(), ScalarType.Bool, weight.device);
        if (pruned > 0)
        {
            var (_, order) = weight.detach().abs().flatten().sort(0, descending: false, stable: true);
            keep.index_fill_(0, order.narrow(0, 0, pruned), Scalars.False);
        }
        return keep.reshape(weight.shape).MoveToOuterDisposeScope();
    }

    /// <summary>Pi_p(<paramref name="weight"/>) as a new tensor (no gradient).</summary>
    public static Tensor Project(Tensor weight, double sparsity)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var keep = KeepMask(weight, sparsity);
        return weight.detach().masked_fill(keep.logical_not(), Scalars.Zero).MoveToOuterDisposeScope();
    }

    /// <summary>Applies Pi_p to <paramref name="weight"/> in place (no gradient) and returns it.</summary>
    public static Tensor ProjectInPlace(Tensor weight, double sparsity)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var keep = KeepMask(weight, sparsity);
        weight.masked_fill_(keep.logical_not(), Scalars.Zero);
        return weight;
    }

    internal static void CheckSparsity(double sparsity, string name = "sparsity")
    {
        if (!(sparsity >= 0 && sparsity <= 1))
            throw new ArgumentOutOfRangeException(name, sparsity, $"{name} must be in [0, 1] (the fraction of weights zeroed per layer; 4x compression = 0.75).");
    }
}
