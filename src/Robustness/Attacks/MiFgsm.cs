using Robustness.Validation;
using Robustness.Optimization;
using Robustness.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Attacks;

/// <summary>
/// Options of <see cref="MiFgsm"/>, with torchattacks' MIFGSM defaults: eps = 8/255, step size 2/255, 10 steps,
/// decay 1.0 (the decay of Dong et al. 2018, who used step size eps / steps).
/// </summary>
public sealed record MiFgsmOptions : GradientAttackOptions
{
    /// <summary>Number of iterations (>= 1).</summary>
    public int Steps { get; init; } = 10;

    /// <summary>Step size on the [0,1] scale (> 0); for l2 the length of each step.</summary>
    public double StepSize { get; init; } = 2.0 / 255.0;

    /// <summary>Momentum decay factor mu (>= 0); 0 turns MI-FGSM into BIM with l1-normalised gradients.</summary>
    public double Decay { get; init; } = 1.0;

    /// <inheritdoc />
    public override MiFgsmOptions Validate()
    {
        base.Validate();
        if (Norm == Norm.L1) throw new ArgumentOutOfRangeException(nameof(Norm), Norm, "MI-FGSM supports Linf and L2.");
        Require.AtLeast(Steps, 1, nameof(Steps));
        Require.Positive(StepSize, nameof(StepSize));
        Require.InRange(Decay, 0, double.PositiveInfinity, nameof(Decay));
        return this;
    }
}

/// <summary>
/// Momentum Iterative FGSM (Dong et al., "Boosting Adversarial Attacks with Momentum", CVPR 2018):
/// g_{k+1} = mu * g_k + grad_k / mean(|grad_k|), x_{k+1} = clip_{x,eps}(x_k + alpha * sign(g_{k+1})) (l2: along
/// g / ||g||_2, projected onto the l2 ball), clipped to [0,1]. Each image's gradient is normalised by its OWN mean
/// absolute value (see <see cref="NormalizeGradient"/>), so an image's result never depends on which other images
/// share its batch (normalising by the batch's mean is a known bug of some implementations).
/// </summary>
public sealed class MiFgsm : Attack<MiFgsmOptions>
{
    private const double Tiny = 1e-12;

    /// <summary>Creates the attack; invalid options raise <see cref="ArgumentOutOfRangeException"/>.</summary>
    public MiFgsm(MiFgsmOptions? options = null) : base("mifgsm", options ?? new MiFgsmOptions()) { }

    /// <summary>The catalogue entry: reads Epsilon, Norm (linf, l2), Steps, StepSize, Target and Seed.</summary>
    public static AttackDefinition Definition { get; } = new(
        "mifgsm", "Momentum Iterative FGSM (Dong et al., CVPR 2018)",
        [Norm.Linf, Norm.L2], IsBlackBox: false, IsMinimumNorm: false, SupportsTargets: true,
        s => new MiFgsm(new MiFgsmOptions
        {
            Epsilon = s.EpsilonOrDefault, Norm = s.Norm, Steps = s.Steps ?? 10, StepSize = s.StepSize ?? 2.0 / 255.0,
            Target = s.Target, Seed = s.Seed,
        }))
    {
        Reads = [nameof(AttackSettings.Epsilon), nameof(AttackSettings.Norm), nameof(AttackSettings.Steps), nameof(AttackSettings.StepSize), nameof(AttackSettings.Target), nameof(AttackSettings.Seed)],
    };

    /// <summary>
    /// Each image's gradient divided by its own mean absolute value (its l1 norm over the number of pixels), [N, ...]:
    /// row i of the result depends on row i of <paramref name="gradient"/> only. A zero gradient stays zero.
    /// </summary>
    public static Tensor NormalizeGradient(Tensor gradient)
    {
        ArgumentNullException.ThrowIfNull(gradient);
        using var tiny = Tiny.ToScalar();
        var meanAbs = gradient.abs().flatten(1).mean([1L]);
        return gradient / AttackMath.Broadcast(meanAbs + tiny, gradient);
    }

    /// <inheritdoc />
    protected override Tensor Perturb(AttackContext context) =>
        Iterate(context, Options.Norm, Options.Epsilon, Options.StepSize, Options.Steps, Options.Decay, transform: null, randomStart: false);

    /// <summary>
    /// The momentum iteration, shared with <see cref="DiFgsm"/>: when <paramref name="transform"/> is given, each
    /// step's gradient is taken through it (input diversity; the transform may return its input unchanged).
    /// </summary>
    internal static Tensor Iterate(AttackContext context, Norm norm, double epsilon, double stepSize, int steps, double decay,
        Func<Tensor, Tensor>? transform, bool randomStart)
    {
        var x = context.Images;
        var objective = context.Criterion.LossOf(context.Labels, context.Targets);
        // The engine's step follows the momentum rather than the raw gradient.
        var engine = new ProjectedGradientMethod(new SteepestStep(norm, stepSize), StepDirection.Ascend);
        var ball = new NormBall(x, norm, epsilon);
        var adversarial = randomStart
            ? (x + AttackMath.RandomInBall(x.shape, norm, epsilon, context.Generator, x.device)).clamp(Scalars.Zero, Scalars.One)
            : x.clone();
        var momentum = torch.zeros_like(x);
        using var decayFactor = decay.ToScalar();
        for (int i = 0; i < steps; i++)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            using var step = torch.NewDisposeScope();
            var gradient = transform is null
                ? AttackMath.InputGradient(context.Classifier, adversarial, objective)
                : AttackMath.LossAndGradientThrough(context.Classifier, adversarial, transform, objective).Gradient;
            // Iterate and momentum are updated in place: two tensors of the caller's scope, memory flat over the steps.
            momentum.copy_(momentum * decayFactor + NormalizeGradient(gradient));
            adversarial.copy_(engine.Step(adversarial, momentum, ball));
        }
        return adversarial;
    }
}
