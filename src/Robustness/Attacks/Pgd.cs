using Robustness.Validation;
using Robustness.Optimization;
using Robustness.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Attacks;

/// <summary>
/// Options of <see cref="Pgd"/>, with the defaults of Madry et al. (2018) for CIFAR-10 as torchattacks uses them:
/// l-inf, eps = 8/255, step size 2/255, 10 steps, random start, one run. For l2 and l1 the default step size is
/// eps / 4, the same ratio to the budget (torchattacks' PGDL2 uses 0.2 for eps = 1.0, i.e. eps / 5).
/// </summary>
public sealed record PgdOptions : GradientAttackOptions
{
    /// <summary>Number of iterations per run (>= 1).</summary>
    public int Steps { get; init; } = 10;

    /// <summary>Step size on the [0,1] scale (> 0); null = 2/255 for l-inf, eps / 4 for l2 and l1.</summary>
    public double? StepSize { get; init; }

    /// <summary>Start each run from a uniformly random point of the budget ball (Madry et al.); false starts at the image.</summary>
    public bool RandomStart { get; init; } = true;

    /// <summary>
    /// Number of runs (>= 1). Each run after the first starts afresh (from a new random point) on the images no run
    /// has fooled yet; each image keeps the result of the first run that fooled it (reached its target, when
    /// targeted), else the first run's result.
    /// </summary>
    public int Restarts { get; init; } = 1;

    /// <summary>
    /// Stop updating an image, within a run, as soon as it is fooled, and keep that iterate. Madry's PGD (false, the
    /// default) always takes every step and returns the last iterate; true is faster and never less successful,
    /// suited to measuring robust accuracy (not to adversarial training, which wants the loss maximised).
    /// </summary>
    public bool StopOnSuccess { get; init; }

    /// <summary><see cref="StepSize"/> or the norm's default.</summary>
    public double StepSizeOrDefault => StepSize ?? DefaultStepSize(Norm, Epsilon);

    /// <summary>
    /// PGD's default step for <paramref name="norm"/> and budget <paramref name="epsilon"/>: 2/255 for l-inf (Madry et
    /// al.), eps / 4 for l2 and l1. The one place the rule is written; adversarial training's CLI options use it too.
    /// </summary>
    public static double DefaultStepSize(Norm norm, double epsilon) => norm == Norm.Linf ? 2.0 / 255.0 : epsilon / 4;

    /// <inheritdoc />
    public override PgdOptions Validate()
    {
        base.Validate();
        Require.AtLeast(Steps, 1, nameof(Steps));
        if (StepSize is double s) Require.Positive(s, nameof(StepSize));
        Require.AtLeast(Restarts, 1, nameof(Restarts));
        return this;
    }
}

/// <summary>
/// Projected Gradient Descent (Madry et al., "Towards Deep Learning Models Resistant to Adversarial Attacks", ICLR
/// 2018): from a random point of the eps-ball, repeat x_{k+1} = Proj_{x,eps}(x_k + alpha * d(grad)) clipped to [0,1],
/// where d is the norm's steepest-ascent direction (sign for l-inf, g / ||g||_2 for l2, the top 1% of coordinates for
/// l1) and the loss is the cross-entropy (untargeted: raised; targeted: the target's lowered). With restarts, only the
/// images not yet fooled are attacked again (see <see cref="PgdOptions.Restarts"/>).
/// </summary>
public sealed class Pgd : Attack<PgdOptions>
{
    /// <summary>Creates the attack; invalid options raise <see cref="ArgumentOutOfRangeException"/>.</summary>
    public Pgd(PgdOptions? options = null) : base("pgd", options ?? new PgdOptions()) { }

    /// <summary>The catalogue entry: reads Epsilon, Norm, Steps, StepSize, Restarts, Target and Seed.</summary>
    public static AttackDefinition Definition { get; } = new(
        "pgd", "Projected Gradient Descent with random start (Madry et al., ICLR 2018)",
        [Norm.Linf, Norm.L2, Norm.L1], IsBlackBox: false, IsMinimumNorm: false, SupportsTargets: true,
        s => new Pgd(new PgdOptions
        {
            Epsilon = s.EpsilonOrDefault, Norm = s.Norm, Steps = s.Steps ?? 10, StepSize = s.StepSize,
            Restarts = s.Restarts ?? 1, Target = s.Target, Seed = s.Seed,
        }))
    {
        Reads = [nameof(AttackSettings.Epsilon), nameof(AttackSettings.Norm), nameof(AttackSettings.Steps), nameof(AttackSettings.StepSize), nameof(AttackSettings.Restarts), nameof(AttackSettings.Target), nameof(AttackSettings.Seed)],
    };

    /// <inheritdoc />
    protected override Tensor Perturb(AttackContext context)
    {
        var best = context.Images.clone();
        // Indices of the images no run has fooled yet: the next run attacks only these.
        using var count = context.Count.ToScalar();
        var pending = torch.arange(count, dtype: ScalarType.Int64, device: context.Device);
        bool needSuccess = Options.Restarts > 1;
        for (int run = 0; run < Options.Restarts; run++)
        {
            using var scope = torch.NewDisposeScope();
            if (run > 0 && pending.numel() == 0) break;
            var x = run == 0 ? context.Images : context.Images.index_select(0, pending);
            var y = run == 0 ? context.Labels : context.Labels.index_select(0, pending);
            var t = run == 0 ? context.Targets : context.Targets?.index_select(0, pending);
            var adversarial = Iterate(context, x, y, t);
            if (!needSuccess)
            {
                best.copy_(adversarial);
                continue;
            }
            Tensor fooled;
            using (torch.no_grad()) fooled = context.Criterion.Succeeded(context.Classifier.Forward(adversarial), y, t);
            if (run == 0)
            {
                best.copy_(adversarial);
            }
            else
            {
                var which = fooled.nonzero().squeeze(1);
                best.index_copy_(0, pending.index_select(0, which), adversarial.index_select(0, which));
            }
            pending = pending.index_select(0, fooled.logical_not().nonzero().squeeze(1)).MoveToOuterDisposeScope();
        }
        return best;
    }

    // One PGD run on the images x (labels y, targets t): random start, Steps projected steps. With StopOnSuccess the
    // images fooled at the current iterate leave the working set, so later steps compute only what is still needed.
    private Tensor Iterate(AttackContext context, Tensor x, Tensor y, Tensor? t)
    {
        Norm norm = Options.Norm;
        double eps = Options.Epsilon, alpha = Options.StepSizeOrDefault;
        var engine = new ProjectedGradientMethod(new SteepestStep(norm, alpha), StepDirection.Ascend);
        var adversarial = Options.RandomStart
            ? (x + AttackMath.RandomInBall(x.shape, norm, eps, context.Generator, x.device)).clamp(Scalars.Zero, Scalars.One)
            : x.clone();
        Tensor? active = null; // indices into x of the images still updated; null = all of them
        for (int i = 0; i < Options.Steps; i++)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            using var step = torch.NewDisposeScope();
            var xs = active is null ? x : x.index_select(0, active);
            var ys = active is null ? y : y.index_select(0, active);
            var ts = active is null ? t : t?.index_select(0, active);
            var current = active is null ? adversarial : adversarial.index_select(0, active);
            var (_, gradient, logits) = AttackMath.LossAndGradient(context.Classifier, current, context.Criterion.LossOf(ys, ts));
            if (Options.StopOnSuccess)
            {
                var keep = context.Criterion.Succeeded(logits, ys, ts).logical_not().nonzero().squeeze(1);
                if (keep.numel() == 0) break;
                if (keep.numel() < current.shape[0])
                {
                    active = (active is null ? keep : active.index_select(0, keep)).MoveToOuterDisposeScope();
                    xs = xs.index_select(0, keep);
                    current = current.index_select(0, keep);
                    gradient = gradient.index_select(0, keep);
                }
            }
            var next = engine.Step(current, gradient, new NormBall(xs, norm, eps));
            // In place: the iterate stays one tensor of the run's scope, so memory is flat over the steps.
            if (active is null) adversarial.copy_(next);
            else adversarial.index_copy_(0, active, next);
        }
        return adversarial;
    }
}
