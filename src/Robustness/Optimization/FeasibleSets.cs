using Robustness.Attacks;
using Robustness.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Optimization;

/// <summary>Where the iterate may lie: the engine projects onto it after every step. Always a subset of [0,1].</summary>
public interface IFeasibleSet
{
    /// <summary>The projection of <paramref name="candidate"/> onto the set, in the caller's dispose scope.</summary>
    Tensor Project(Tensor candidate);
}

/// <summary>
/// The <see cref="Norm"/> ball of radius eps around the clean images, intersected with [0,1]:
/// clamp(clean + Proj(x - clean), 0, 1), per image. Clamping after the projection keeps the budget, since clamping
/// to [0,1] only shrinks each pixel's change. The attacks', adversarial training's and error-minimising noise's set.
/// </summary>
public sealed class NormBall : IFeasibleSet
{
    private readonly Tensor _centre;

    /// <summary>The ball of radius <paramref name="epsilon"/> in <paramref name="norm"/> around <paramref name="centre"/> (held, not copied).</summary>
    public NormBall(Tensor centre, Norm norm, double epsilon)
    {
        ArgumentNullException.ThrowIfNull(centre);
        _centre = centre;
        Norm = norm;
        Epsilon = epsilon;
    }

    /// <summary>The ball's norm.</summary>
    public Norm Norm { get; }

    /// <summary>The ball's radius on the [0,1] scale.</summary>
    public double Epsilon { get; }

    /// <inheritdoc />
    public Tensor Project(Tensor candidate) =>
        (_centre + AttackMath.Project(candidate - _centre, Norm, Epsilon)).clamp(Scalars.Zero, Scalars.One);
}

/// <summary>
/// The l-inf ball around the clean images intersected with [0,1], as the box [max(clean - eps, 0), min(clean + eps, 1)]
/// computed once: the projection is one maximum and one minimum per step. SEP's set (its crafting takes T steps per
/// checkpoint ensemble, so the two operations saved per step count); the same set as an l-inf <see cref="NormBall"/>,
/// but its own float32 arithmetic, which the protected bytes depend on.
/// </summary>
public sealed class LinfBox : IFeasibleSet, IDisposable
{
    private readonly Tensor _lower;
    private readonly Tensor _upper;

    /// <summary>The box of half-width <paramref name="epsilon"/> around <paramref name="clean"/>, clipped to [0,1].</summary>
    public LinfBox(Tensor clean, double epsilon)
    {
        ArgumentNullException.ThrowIfNull(clean);
        using var radius = epsilon.ToScalar();
        _lower = clean.sub(radius).clamp_min(Scalars.Zero);
        _upper = clean.add(radius).clamp_max(Scalars.One);
    }

    /// <inheritdoc />
    public Tensor Project(Tensor candidate) => candidate.maximum(_lower).minimum(_upper);

    /// <inheritdoc />
    public void Dispose()
    {
        _lower.Dispose();
        _upper.Dispose();
    }
}
