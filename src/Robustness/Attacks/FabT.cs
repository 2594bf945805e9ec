using Robustness.Validation;
using Robustness.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Attacks;

/// <summary>
/// Options of <see cref="FabT"/>. Defaults are those of FAB-T in AutoAttack's standard set (Croce and Hein,
/// "Minimally distorted adversarial examples with a fast adaptive boundary attack", ICML 2020; "Reliable evaluation of
/// adversarial robustness with an ensemble of diverse parameter-free attacks", ICML 2020): 100 iterations, 1 restart,
/// 9 target classes, alpha_max 0.1, eta 1.05, beta 0.9, l-inf.
/// </summary>
public sealed record FabTOptions : AttackOptions
{
    /// <summary>The norm the perturbation is minimised in: <see cref="Norm.Linf"/> (default) or <see cref="Norm.L2"/>.</summary>
    public Norm Norm { get; init; } = Norm.Linf;

    /// <summary>
    /// The budget on the [0,1] scale, or null for the pure minimum-norm attack. With a budget (as inside AutoAttack)
    /// an adversarial example counts only when its norm is at most Epsilon: points fooled within the budget are not
    /// attacked again, and points never fooled within it are returned unchanged.
    /// </summary>
    public double? Epsilon { get; init; }

    /// <summary>Iterations per target class and restart (AutoAttack: 100).</summary>
    public int Steps { get; init; } = 100;

    /// <summary>Runs per target class (AutoAttack's FAB-T: 1). The first starts at the clean image, later ones at random points.</summary>
    public int Restarts { get; init; } = 1;

    /// <summary>
    /// How many target classes to try, the most likely wrong classes on the clean image first (AutoAttack: 9).
    /// Capped at C - 1 for a C-class model. Ignored when <see cref="AttackOptions.Target"/> picks one target per image.
    /// </summary>
    public int TargetClasses { get; init; } = 9;

    /// <summary>The largest weight of the step from the clean image in the biased update (paper: 0.1).</summary>
    public double AlphaMax { get; init; } = 0.1;

    /// <summary>Extrapolation factor of the projection step, to land slightly past the boundary (paper: 1.05).</summary>
    public double Eta { get; init; } = 1.05;

    /// <summary>Backward step: after a success the point moves to x + beta * (x' - x), towards the clean image (paper: 0.9).</summary>
    public double Beta { get; init; } = 0.9;

    /// <inheritdoc />
    public override FabTOptions Validate()
    {
        base.Validate();
        if (Norm is not (Norm.Linf or Norm.L2))
            throw new ArgumentOutOfRangeException(nameof(Norm), Norm, "FAB-T's Norm must be Linf or L2.");
        if (Epsilon is double eps) Budget.Check(eps, nameof(Epsilon));
        Require.AtLeast(Steps, 1, nameof(Steps));
        Require.AtLeast(Restarts, 1, nameof(Restarts));
        Require.AtLeast(TargetClasses, 1, nameof(TargetClasses));
        Require.InRange(AlphaMax, 0, 1, nameof(AlphaMax));
        Require.InRange(Eta, 1, double.PositiveInfinity, nameof(Eta));
        if (double.IsNaN(Beta) || Beta <= 0 || Beta > 1)
            throw new ArgumentOutOfRangeException(nameof(Beta), Beta, "Beta must be a finite number in (0, 1].");
        return this;
    }
}

/// <summary>
/// FAB-T, the targeted fast adaptive boundary attack (Croce and Hein, ICML 2020), as AutoAttack runs it. For each
/// target class t among the most likely wrong classes, it repeatedly linearises g = z_y - z_t at the current point
/// x_k, projects both x_k and the clean image x onto the hyperplane g = 0 inside the [0,1] box
/// (<see cref="BoxedHyperplaneProjection"/>), giving steps d_k and d_0, and moves to
/// (1 - alpha)(x_k + eta d_k) + alpha (x + eta d_0) with alpha = min(||d_k|| / (||d_k|| + ||d_0||), alpha_max),
/// which biases the iterate towards the clean image. Each time the iterate is misclassified it is kept if it is the
/// smallest so far, and pulled back to x + beta (x_k - x). The result is the smallest misclassified point found
/// (within <see cref="FabTOptions.Epsilon"/> when set), else the clean image. Only points classified correctly are
/// attacked (with explicit targets: the points not yet classified as their target).
/// </summary>
/// <remarks>
/// Follows AutoAttack's FAB-T in l-inf and l2; its l1 variant and the untargeted FAB are not implemented. With an
/// explicit <see cref="AttackOptions.Target"/> each image is attacked towards its one resolved target instead of the
/// top-k classes, only points classified as that target count as adversarial (AutoAttack's targets merely steer the
/// search, and any misclassification counts), and the boundary linearised is the one between the target and its
/// strongest competitor at the current point, which is the true class at the start.
/// </remarks>
public sealed class FabT : Attack<FabTOptions>
{
    private const double Tiny = 1e-8;

    /// <summary>Creates the attack with <paramref name="options"/> (validated; defaults when null).</summary>
    public FabT(FabTOptions? options = null) : base("fab-t", options ?? new FabTOptions()) { }

    /// <summary>
    /// The catalogue entry: reads Epsilon (the norm's default when null, as AutoAttack bounds FAB-T), Norm (l-inf or
    /// l2), Steps, Restarts, Target and Seed.
    /// </summary>
    public static AttackDefinition Definition { get; } = new(
        "fab-t",
        "FAB-T, targeted fast adaptive boundary attack, 9 target classes (Croce & Hein, ICML 2020), as in AutoAttack.",
        [Norm.Linf, Norm.L2],
        IsBlackBox: false,
        IsMinimumNorm: false,
        SupportsTargets: true,
        settings => new FabT(new FabTOptions
        {
            Norm = settings.Norm,
            Epsilon = settings.EpsilonOrDefault,
            Steps = settings.Steps ?? 100,
            Restarts = settings.Restarts ?? 1,
            Target = settings.Target,
            Seed = settings.Seed,
        }))
    {
        Reads = [nameof(AttackSettings.Epsilon), nameof(AttackSettings.Norm), nameof(AttackSettings.Steps), nameof(AttackSettings.Restarts),
            nameof(AttackSettings.Target), nameof(AttackSettings.Seed)],
    };

    /// <inheritdoc />
    public override Norm Norm => Options.Norm;

    /// <inheritdoc />
    public override double? Epsilon => Options.Epsilon;

    /// <summary>
    /// The radius of random restarts without a budget: AutoAttack's defaults (0.3 l-inf, 1.0 l2). Restarts start at
    /// half the radius, as in AutoAttack.
    /// </summary>
    private double StartRadius => Options.Epsilon ?? (Options.Norm == Norm.Linf ? 0.3 : 1.0);

    /// <inheritdoc />
    protected override Tensor Perturb(AttackContext context)
    {
        var x = context.Images;
        long n = context.Count;
        Tensor open, ranked;
        using (torch.no_grad())
        {
            var logits = context.Classifier.Forward(x);
            // Untargeted, the points still classified correctly; with explicit targets, those not yet at their target.
            var prediction = logits.argmax(1);
            open = context.Targets is null ? prediction.eq(context.Labels) : prediction.ne(context.Targets);
            ranked = logits.argsort(1, descending: true);
        }
        // Target c of image i: its (c+1)-th most likely class on the clean image (the first is the true one when correct).
        int targetCount = context.Targets is null ? Math.Min(Options.TargetClasses, context.Classifier.Classes - 1) : 1;
        double bound = Options.Epsilon ?? double.PositiveInfinity;
        using var boundScalar = bound.ToScalar();

        var best = x.clone();
        var bestNorm = torch.full([n], Scalars.PositiveInfinity, dtype: ScalarType.Float32, device: context.Device);
        for (int rank = 1; rank <= targetCount; rank++)
        {
            for (int restart = 0; restart < Options.Restarts; restart++)
            {
                using var runScope = torch.NewDisposeScope();
                // With a budget, points already fooled within it are done (AutoAttack's rule); without one, every
                // correctly classified point keeps looking for a smaller perturbation.
                var pending = Options.Epsilon is null ? open : open.logical_and(bestNorm.gt(boundScalar));
                var index = pending.nonzero().squeeze(1);
                if (index.shape[0] == 0) continue;
                var targets = (context.Targets ?? ranked.select(1, rank)).index_select(0, index);
                var (found, foundNorm) = SingleRun(context, x.index_select(0, index), context.Labels.index_select(0, index), targets, restart > 0);
                var improved = foundNorm.lt(bestNorm.index_select(0, index));
                best.index_copy_(0, index, torch.where(AttackMath.Broadcast(improved, found), found, best.index_select(0, index)));
                bestNorm.index_copy_(0, index, torch.where(improved, foundNorm, bestNorm.index_select(0, index)));
            }
        }
        var accepted = bestNorm.le(boundScalar);
        return torch.where(AttackMath.Broadcast(accepted, x), best, x);
    }

    /// <summary>
    /// One FAB run towards <paramref name="targets"/>: the smallest misclassified point found for each image and its
    /// norm (infinity where none was found).
    /// </summary>
    private (Tensor Adversarial, Tensor Norm) SingleRun(AttackContext context, Tensor x, Tensor labels, Tensor targets, bool randomStart)
    {
        long n = x.shape[0];
        var flatX = x.flatten(1);
        var current = randomStart ? RandomStart(context, x) : x.clone();
        var best = x.clone();
        var bestNorm = torch.full([n], Scalars.PositiveInfinity, dtype: ScalarType.Float32, device: context.Device);
        using Scalar tiny = Tiny.ToScalar(), alphaMax = Options.AlphaMax.ToScalar(), eta = Options.Eta.ToScalar(), beta = Options.Beta.ToScalar();

        for (int step = 0; step < Options.Steps; step++)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            using var stepScope = torch.NewDisposeScope();
            // Linearise g = z_y - z_t at the current point: g(z) ~ g(x_k) + w . (z - x_k), zero on w . z = w . x_k - g(x_k).
            // To reach an explicit target, y is replaced by t's strongest competitor at x_k (y itself at the start).
            var (g, gradient, _) = AttackMath.LossAndGradient(context.Classifier, current, logits =>
                (context.Targeted ? AttackMath.MaxOther(logits, targets) : logits.gather(1, labels.unsqueeze(1)).squeeze(1))
                - logits.gather(1, targets.unsqueeze(1)).squeeze(1));
            var w = gradient.flatten(1);
            var flatCurrent = current.flatten(1);
            var offset = (w * flatCurrent).sum(1) - g;
            // Project the current point and the clean image onto that hyperplane in one batched call.
            var steps = BoxedHyperplaneProjection.Step(torch.cat([flatCurrent, flatX], 0), torch.cat([w, w], 0), torch.cat([offset, offset], 0), Options.Norm);
            var stepSizes = AttackMath.PerSampleNorm(steps, Options.Norm).clamp_min(tiny);
            var fromCurrent = steps.narrow(0, 0, n).view(x.shape);
            var fromClean = steps.narrow(0, n, n).view(x.shape);
            var sizeCurrent = stepSizes.narrow(0, 0, n);
            var sizeClean = stepSizes.narrow(0, n, n);
            var alpha = AttackMath.Broadcast((sizeCurrent / (sizeCurrent + sizeClean)).clamp(Scalars.Zero, alphaMax), x);
            var next = ((current + fromCurrent * eta) * (Scalars.One - alpha) + (x + fromClean * eta) * alpha).clamp(Scalars.Zero, Scalars.One);

            // AutoAttack's FAB-T counts any misclassification (the target only steers); an explicit target must be reached.
            var prediction = context.Classifier.Predict(next);
            var fooled = context.Targeted ? prediction.eq(targets) : prediction.ne(labels);
            var distance = AttackMath.PerSampleNorm(next - x, Options.Norm);
            var improved = fooled.logical_and(distance.lt(bestNorm));
            best.copy_(torch.where(AttackMath.Broadcast(improved, x), next, best));
            bestNorm.copy_(torch.where(improved, distance, bestNorm));
            // After a success, step back towards the clean image to look for a smaller perturbation.
            current.copy_(torch.where(AttackMath.Broadcast(fooled, x), x + (next - x) * beta, next));
        }
        return (best, bestNorm);
    }

    /// <summary>AutoAttack's random start: a random direction scaled to half the radius, clamped to the box.</summary>
    private Tensor RandomStart(AttackContext context, Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var shape = x.shape;
        var noise = Options.Norm == Norm.Linf
            ? torch.rand(shape, generator: context.Generator) * Scalars.Two - Scalars.One
            : torch.randn(shape, generator: context.Generator);
        using Scalar smallest = 1e-12.ToScalar(), radius = (0.5 * StartRadius).ToScalar();
        var unit = noise / AttackMath.Broadcast(AttackMath.PerSampleNorm(noise, Options.Norm).clamp_min(smallest), noise);
        return (x + unit.to(x.device) * radius).clamp(Scalars.Zero, Scalars.One).MoveToOuterDisposeScope();
    }
}
