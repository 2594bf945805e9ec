using Robustness.Validation;
using Robustness.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Attacks;

/// <summary>
/// Options of <see cref="RFgsm"/>. Defaults: l-inf, eps = 8/255, Alpha = eps/2 (Tramèr et al. 2018 used
/// eps = 16/255, alpha = 8/255 on ImageNet, i.e. alpha = eps/2).
/// </summary>
public sealed record RFgsmOptions : GradientAttackOptions
{
    /// <summary>Size of the random first step, in [0, Epsilon]; null = Epsilon / 2 (the paper's ratio).</summary>
    public double? Alpha { get; init; }

    /// <summary><see cref="Alpha"/> or its default, Epsilon / 2.</summary>
    public double AlphaOrDefault => Alpha ?? Epsilon / 2;

    /// <inheritdoc />
    public override RFgsmOptions Validate()
    {
        base.Validate();
        if (Norm == Norm.L1) throw new ArgumentOutOfRangeException(nameof(Norm), Norm, "R-FGSM supports Linf and L2.");
        if (Alpha is double a) Require.InRange(a, 0, Epsilon, nameof(Alpha));
        return this;
    }
}

/// <summary>
/// R+FGSM (Tramèr et al., "Ensemble Adversarial Training: Attacks and Defenses", ICLR 2018): a random step of size
/// alpha escapes the sharp curvature around the data point, then one gradient step of size eps - alpha from there.
/// l-inf: x1 = x + alpha * sign(N(0, I)), x' = x1 + (eps - alpha) * sign(grad at x1). l2: the random step is alpha
/// along a uniformly random direction and the gradient step is (eps - alpha) * g / ||g||_2. Both stay within eps by
/// the triangle inequality. The intermediate point is clipped to [0,1] so the gradient is taken at a valid image.
/// </summary>
public sealed class RFgsm : Attack<RFgsmOptions>
{
    /// <summary>Creates the attack; invalid options raise <see cref="ArgumentOutOfRangeException"/>.</summary>
    public RFgsm(RFgsmOptions? options = null) : base("rfgsm", options ?? new RFgsmOptions()) { }

    /// <summary>The catalogue entry: reads Epsilon, Norm (linf, l2), StepSize (as alpha), Target and Seed.</summary>
    public static AttackDefinition Definition { get; } = new(
        "rfgsm", "R+FGSM: random step then FGSM (Tramèr et al., ICLR 2018)",
        [Norm.Linf, Norm.L2], IsBlackBox: false, IsMinimumNorm: false, SupportsTargets: true,
        s => new RFgsm(new RFgsmOptions { Epsilon = s.EpsilonOrDefault, Norm = s.Norm, Alpha = s.StepSize, Target = s.Target, Seed = s.Seed }))
    {
        Reads = [nameof(AttackSettings.Epsilon), nameof(AttackSettings.Norm), nameof(AttackSettings.StepSize), nameof(AttackSettings.Target), nameof(AttackSettings.Seed)],
    };

    /// <inheritdoc />
    protected override Tensor Perturb(AttackContext context)
    {
        context.CancellationToken.ThrowIfCancellationRequested();
        double eps = Options.Epsilon, alpha = Options.AlphaOrDefault;
        var x = context.Images;
        // The noise is drawn on the CPU from the seeded generator, so a seed gives the same start on any device.
        var noise = torch.randn(x.shape, generator: context.Generator).to(x.device);
        using Scalar randomStep = alpha.ToScalar(), gradientStep = (eps - alpha).ToScalar();
        var start = (x + AttackMath.SteepestDirection(noise, Options.Norm) * randomStep).clamp(Scalars.Zero, Scalars.One);
        var gradient = AttackMath.InputGradient(context.Classifier, start,
            context.Criterion.LossOf(context.Labels, context.Targets));
        return (start + AttackMath.SteepestDirection(gradient, Options.Norm) * gradientStep).clamp(Scalars.Zero, Scalars.One);
    }
}
