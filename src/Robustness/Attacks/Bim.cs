using Robustness.Validation;
using Robustness.Optimization;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Attacks;

/// <summary>
/// Options of <see cref="Bim"/>, with the defaults of Kurakin, Goodfellow and Bengio (2017): step size 1/255 and
/// min(eps * 255 + 4, 1.25 * eps * 255) steps (10 steps for eps = 8/255); no random start. l-inf only (for an l2
/// iterative attack use <see cref="Pgd"/> with <see cref="PgdOptions.RandomStart"/> = false).
/// </summary>
public sealed record BimOptions : GradientAttackOptions
{
    /// <summary>Number of iterations (>= 1); null = min(eps * 255 + 4, 1.25 * eps * 255), at least 1.</summary>
    public int? Steps { get; init; }

    /// <summary>Step size on the [0,1] scale (> 0); 1/255 by default, one pixel level per step.</summary>
    public double StepSize { get; init; } = 1.0 / 255.0;

    /// <summary><see cref="Steps"/> or Kurakin's rule min(eps * 255 + 4, 1.25 * eps * 255), truncated, at least 1.</summary>
    public int StepsOrDefault => Steps ?? Math.Max(1, (int)Math.Min(Epsilon * 255 + 4, 1.25 * Epsilon * 255 + 1e-9));

    /// <inheritdoc />
    public override BimOptions Validate()
    {
        base.Validate();
        if (Norm != Norm.Linf) throw new ArgumentOutOfRangeException(nameof(Norm), Norm, "BIM supports Linf only; use PGD without random start for l2.");
        if (Steps is int steps) Require.AtLeast(steps, 1, nameof(Steps));
        Require.Positive(StepSize, nameof(StepSize));
        return this;
    }
}

/// <summary>
/// Basic Iterative Method, also called I-FGSM (Kurakin, Goodfellow and Bengio, "Adversarial Examples in the Physical
/// World", ICLR workshop 2017): FGSM repeated with a small step, x_{k+1} = clip_{x,eps}(x_k + alpha * sign(grad)),
/// clipped to [0,1] after each step, starting from the clean image. Targeted: steps down the target's loss (the
/// paper's iterative least-likely class method is <see cref="TargetSelection.LeastLikely"/>).
/// </summary>
public sealed class Bim : Attack<BimOptions>
{
    /// <summary>Creates the attack; invalid options raise <see cref="ArgumentOutOfRangeException"/>.</summary>
    public Bim(BimOptions? options = null) : base("bim", options ?? new BimOptions()) { }

    /// <summary>The catalogue entry: reads Epsilon, Steps, StepSize, Target and Seed.</summary>
    public static AttackDefinition Definition { get; } = new(
        "bim", "Basic Iterative Method / I-FGSM (Kurakin et al., 2017)",
        [Norm.Linf], IsBlackBox: false, IsMinimumNorm: false, SupportsTargets: true,
        s => new Bim(new BimOptions
        {
            Epsilon = s.EpsilonOrDefault, Steps = s.Steps, StepSize = s.StepSize ?? 1.0 / 255.0, Target = s.Target, Seed = s.Seed,
        }))
    {
        Reads = [nameof(AttackSettings.Epsilon), nameof(AttackSettings.Steps), nameof(AttackSettings.StepSize), nameof(AttackSettings.Target), nameof(AttackSettings.Seed)],
    };

    /// <inheritdoc />
    protected override Tensor Perturb(AttackContext context)
    {
        var x = context.Images;
        var objective = context.Criterion.LossOf(context.Labels, context.Targets);
        var engine = new ProjectedGradientMethod(new SteepestStep(Norm.Linf, Options.StepSize), StepDirection.Ascend);
        var ball = new NormBall(x, Norm.Linf, Options.Epsilon);
        var adversarial = x.clone();
        for (int i = 0; i < Options.StepsOrDefault; i++)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            using var step = torch.NewDisposeScope();
            var gradient = AttackMath.InputGradient(context.Classifier, adversarial, objective);
            // In place, so the iterate stays one tensor of the caller's scope and memory is flat over the steps.
            adversarial.copy_(engine.Step(adversarial, gradient, ball));
        }
        return adversarial;
    }
}
