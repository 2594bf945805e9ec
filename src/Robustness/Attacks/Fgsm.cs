using Robustness.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Attacks;

/// <summary>
/// Options of <see cref="Fgsm"/>. Defaults: l-inf, eps = 8/255 (the CIFAR-10 budget of torchattacks and RobustBench;
/// Goodfellow et al. 2015 used 0.25 on MNIST and 0.1 on CIFAR-10 preprocessed images).
/// </summary>
public sealed record FgsmOptions : GradientAttackOptions;

/// <summary>
/// Fast Gradient Sign Method (Goodfellow, Shlens and Szegedy, "Explaining and Harnessing Adversarial Examples",
/// ICLR 2015): one step of size eps along the steepest-ascent direction of the cross-entropy. l-inf:
/// x + eps * sign(g); l2 (the fast gradient method, FGM): x + eps * g / ||g||_2; l1: eps spread over the largest
/// 1% of the gradient's coordinates (see <see cref="AttackMath.SteepestDirection"/>). Before clipping to [0,1] the
/// perturbation's norm is exactly eps (for a non-zero gradient). Targeted: one step down the target's loss.
/// </summary>
public sealed class Fgsm : Attack<FgsmOptions>
{
    /// <summary>Creates the attack; invalid options raise <see cref="ArgumentOutOfRangeException"/>.</summary>
    public Fgsm(FgsmOptions? options = null) : base("fgsm", options ?? new FgsmOptions()) { }

    /// <summary>The catalogue entry: reads Epsilon, Norm, Target and Seed.</summary>
    public static AttackDefinition Definition { get; } = new(
        "fgsm", "Fast Gradient Sign Method, one step (Goodfellow et al., ICLR 2015); l2 = FGM",
        [Norm.Linf, Norm.L2, Norm.L1], IsBlackBox: false, IsMinimumNorm: false, SupportsTargets: true,
        s => new Fgsm(new FgsmOptions { Epsilon = s.EpsilonOrDefault, Norm = s.Norm, Target = s.Target, Seed = s.Seed }))
    {
        Reads = [nameof(AttackSettings.Epsilon), nameof(AttackSettings.Norm), nameof(AttackSettings.Target), nameof(AttackSettings.Seed)],
    };

    /// <inheritdoc />
    protected override Tensor Perturb(AttackContext context)
    {
        context.CancellationToken.ThrowIfCancellationRequested();
        var gradient = AttackMath.InputGradient(context.Classifier, context.Images,
            context.Criterion.LossOf(context.Labels, context.Targets));
        using var epsilon = Options.Epsilon.ToScalar();
        var step = AttackMath.SteepestDirection(gradient, Options.Norm) * epsilon;
        return (context.Images + step).clamp(Scalars.Zero, Scalars.One);
    }
}
