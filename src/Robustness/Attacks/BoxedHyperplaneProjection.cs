using Robustness.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Attacks;

/// <summary>
/// The smallest step from a point onto a hyperplane that keeps the point inside the [0,1] box: for each row i,
/// the d minimising ||d|| subject to w_i . (p_i + d) = b_i and 0 &lt;= p_i + d &lt;= 1, in l-inf or l2. This is the
/// projection FAB is built on (Croce and Hein, "Minimally distorted adversarial examples with a fast adaptive
/// boundary attack", ICML 2020, Sec. 3.1), solved exactly and batched.
/// </summary>
/// <remarks>
/// Why it is exact: write c = b - w . p for the change of w . p needed, and flip w so that c &gt;= 0. Every coordinate
/// then moves only in the direction of its weight, by at most its room to the box (1 - p_j where w_j &gt; 0, p_j
/// otherwise). In l-inf the optimum moves each coordinate by min(t, room_j); in l2 (by the KKT conditions) by
/// min(t |w_j|, room_j). The progress F(t) = sum_j |w_j| * (that move) is piecewise linear and nondecreasing in t
/// with breakpoints room_j / rate_j, so sorting the breakpoints and one cumulative sum give the smallest t with
/// F(t) = c. When even the whole box falls short of the hyperplane, every coordinate moves to its bound: the point of
/// the box closest to the hyperplane's side.
/// </remarks>
public static class BoxedHyperplaneProjection
{
    private const double Tiny = 1e-12;
    private const double Unbounded = 1e20; // "never saturates", finite so that 0 * Unbounded stays 0

    /// <summary>
    /// The step d ([N, D]) for points <paramref name="points"/> ([N, D], in [0,1]), hyperplane normals
    /// <paramref name="normals"/> ([N, D]) and offsets <paramref name="offsets"/> ([N]), minimal in <paramref name="norm"/>
    /// (<see cref="Norm.Linf"/> or <see cref="Norm.L2"/>).
    /// </summary>
    public static Tensor Step(Tensor points, Tensor normals, Tensor offsets, Norm norm)
    {
        ArgumentNullException.ThrowIfNull(points);
        ArgumentNullException.ThrowIfNull(normals);
        ArgumentNullException.ThrowIfNull(offsets);
        if (norm is not (Norm.Linf or Norm.L2))
            throw new ArgumentOutOfRangeException(nameof(norm), norm, "The boxed hyperplane projection supports Linf and L2.");
        if (points.dim() != 2 || !normals.shape.SequenceEqual(points.shape) || offsets.dim() != 1 || offsets.shape[0] != points.shape[0])
            throw new ArgumentException($"points and normals must be [N, D] and offsets [N]; got [{string.Join(", ", points.shape)}], [{string.Join(", ", normals.shape)}], [{string.Join(", ", offsets.shape)}].");

        using var scope = torch.NewDisposeScope();
        long size = points.shape[1];
        using Scalar tiny = Tiny.ToScalar(), columns = size.ToScalar();
        var needed = offsets - (normals * points).sum(1);                  // c, [N]
        var direction = torch.where(needed.lt(Scalars.Zero), -1f, 1f).unsqueeze(1);  // flip so that c >= 0
        var w = normals * direction;
        var target = needed.abs();
        var weight = w.abs();
        var room = torch.where(w.gt(Scalars.Zero), Scalars.One - points, points); // how far each coordinate may move along w
        var rate = norm == Norm.Linf ? torch.ones_like(weight) : weight;   // the move of coordinate j is min(t * rate_j, room_j)
        var breakpoints = torch.where(rate.gt(Scalars.Zero), room / rate.clamp_min(tiny), Unbounded);

        var order = breakpoints.argsort(1);
        var sortedBreaks = breakpoints.gather(1, order);
        var saturatedProgress = (weight * room).gather(1, order).cumsum(1);            // coordinates at their bound
        var slopes = (weight * rate).gather(1, order);
        var remainingSlope = (slopes.sum(1, keepdim: true) - slopes.cumsum(1)).clamp_min(Scalars.Zero); // coordinates still moving
        var progressAtBreak = saturatedProgress + sortedBreaks * remainingSlope;      // F at each breakpoint

        // t lies between the last breakpoint where F < c and the next one; there F(t) = A + t * B.
        var below = progressAtBreak.lt(target.unsqueeze(1)).sum(1, keepdim: true);   // [N, 1] in 0..D
        var zero = torch.zeros_like(target).unsqueeze(1);
        var a = torch.cat([zero, saturatedProgress], 1).gather(1, below);
        var b = torch.cat([slopes.sum(1, keepdim: true), remainingSlope], 1).gather(1, below);
        var feasible = below.lt(columns);
        var t = torch.where(feasible, (target.unsqueeze(1) - a) / b.clamp_min(tiny), Unbounded);

        // Moving along the flipped normal is the same step in the original coordinates: normals . d = c.
        return (torch.minimum(t * rate, room) * w.sign()).MoveToOuterDisposeScope();
    }
}
