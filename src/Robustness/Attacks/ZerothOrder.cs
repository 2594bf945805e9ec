using Robustness.Runtime;
using Robustness.Validation;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Attacks;

/// <summary>
/// Options of the zeroth-order (query-based, gradient-estimating) attacks, <see cref="ZoSignSgd"/> and <see cref="Nes"/>.
/// Defaults: the settings RED-adv (Yao et al., "Can adversarial examples be parsed to reveal victim model
/// information?", 2023) generates its black-box records with: 500 steps of size 0.0005, 10 random directions per
/// step, smoothing 0.01, l-inf budget 8/255, every step taken (no early stop).
/// </summary>
public abstract record ZerothOrderOptions : BoundedAttackOptions
{
    /// <summary>Iterations (each spends <see cref="QueriesPerStep"/> queries per image). Default 500.</summary>
    public int Steps { get; init; } = 500;

    /// <summary>Step size on the [0,1] scale (per pixel for the sign step; the root-mean-square pixel change for NES). Default 0.0005.</summary>
    public double StepSize { get; init; } = 0.0005;

    /// <summary>Random directions per gradient estimate (q). Default 10.</summary>
    public int Directions { get; init; } = 10;

    /// <summary>Finite-difference smoothing radius (mu) along each unit direction. Default 0.01.</summary>
    public double Smoothing { get; init; } = 0.01;

    /// <summary>
    /// Stop querying an image once the criterion says it is fooled (Square does; RED-adv does not). Off by default, so the
    /// perturbation is the one the full schedule makes.
    /// </summary>
    public bool StopWhenFooled { get; init; }

    /// <summary>The loss ascended and the success test; the cross-entropy by default, as RED-adv's.</summary>
    public AttackCriterion Criterion { get; init; } = AttackCriterion.Misclassification;

    /// <summary>Model queries (forward passes) per image per step.</summary>
    public abstract int QueriesPerStep { get; }

    /// <summary>The query budget per image of the whole schedule.</summary>
    public long QueryBudget => (long)Steps * QueriesPerStep;

    /// <inheritdoc />
    public override ZerothOrderOptions Validate()
    {
        base.Validate();
        if (Norm != Norm.Linf) throw new ArgumentOutOfRangeException(nameof(Norm), Norm, "The zeroth-order attacks support the Linf norm (as RED-adv's).");
        Require.AtLeast(Steps, 1, nameof(Steps));
        Require.Positive(StepSize, nameof(StepSize));
        Require.AtLeast(Directions, 1, nameof(Directions));
        Require.Positive(Smoothing, nameof(Smoothing));
        ArgumentNullException.ThrowIfNull(Criterion, nameof(Criterion));
        return this;
    }
}

/// <summary>
/// The shared loop of the zeroth-order attacks: estimate the gradient of the criterion's loss from finite differences of
/// the logits along random unit directions (Gaussian draws normalised per image, from the attack's seeded generator),
/// take a step derived from the estimate, project onto the l-inf ball and the [0,1] box. Black-box: every query runs
/// under <c>no_grad</c>. The probes x +- mu u are not clamped to the box (as in RED-adv); only the iterates are.
/// After <see cref="IAttack.Run"/>, <see cref="LastQueryCounts"/> holds the queries spent on each image.
/// </summary>
public abstract class ZerothOrderAttack<TOptions> : Attack<TOptions> where TOptions : ZerothOrderOptions
{
    // Pixels of probes queried in one forward pass (16M floats, 64 MB): directions are batched up to it.
    private const long ProbeElements = 1L << 24;

    /// <summary>Creates the attack; the options are validated.</summary>
    protected ZerothOrderAttack(string name, TOptions options) : base(name, options) { }

    /// <inheritdoc />
    public override bool IsBlackBox => true;

    /// <summary>Queries spent on each image by the latest run (null before the first run).</summary>
    public IReadOnlyList<long>? LastQueryCounts { get; private set; }

    /// <summary>True for two-sided (antithetic) differences f(x + mu u) - f(x - mu u); false for one-sided f(x + mu u) - f(x).</summary>
    protected abstract bool Antithetic { get; }

    /// <summary>The step direction from the gradient estimate [n, C, H, W] (the step is <c>StepSize</c> times it).</summary>
    protected abstract Tensor StepDirection(Tensor estimate);

    /// <inheritdoc />
    protected override Tensor Perturb(AttackContext context)
    {
        using var noGrad = torch.no_grad(); // black-box: no graph is ever built
        var x = context.Images;
        long n = context.Count;
        var adversarial = x.clone();
        var queries = torch.zeros(n, ScalarType.Int64, x.device);
        var criterion = Options.Criterion;
        int draws = Antithetic ? Options.Directions / 2 : Options.Directions;
        long probesPerStep = Antithetic ? 2L * draws : draws;
        using Scalar mu = Options.Smoothing.ToScalar(), twoMu = (2 * Options.Smoothing).ToScalar(), stepSize = Options.StepSize.ToScalar(),
            eps = Options.Epsilon.ToScalar(), negativeEps = (-Options.Epsilon).ToScalar(), drawCount = ((double)draws).ToScalar(),
            probes = probesPerStep.ToScalar();
        Tensor? active = null; // the images still attacked (null: all); only with StopWhenFooled

        for (int step = 0; step < Options.Steps; step++)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            using var scope = torch.NewDisposeScope();
            Tensor Select(Tensor t) => active is null ? t : t.index_select(0, active);
            void Count(Scalar spent)
            {
                if (active is null) queries.add_(spent);
                else queries.index_add_(0, active, torch.ones_like(active), spent);
            }

            var current = Select(adversarial);
            var clean = Select(x);
            var labels = Select(context.Labels);
            var targets = context.Targets is null ? null : Select(context.Targets);
            Tensor? baseLoss = null;
            if (!Antithetic || Options.StopWhenFooled)
            {
                var logits = context.Classifier.Forward(current);
                Count(Scalars.One);
                if (Options.StopWhenFooled)
                {
                    var keep = criterion.Succeeded(logits, labels, targets).logical_not().nonzero().squeeze(1);
                    if (keep.shape[0] == 0) break;
                    if (keep.shape[0] < current.shape[0])
                    {
                        var kept = (active is null ? keep : active.index_select(0, keep)).MoveToOuterDisposeScope();
                        active?.Dispose();
                        active = kept;
                        current = current.index_select(0, keep);
                        clean = clean.index_select(0, keep);
                        labels = labels.index_select(0, keep);
                        targets = targets?.index_select(0, keep);
                        logits = logits.index_select(0, keep);
                    }
                }
                if (!Antithetic) baseLoss = criterion.Loss(logits, labels, targets);
            }

            var estimate = torch.zeros_like(current);
            long m = current.shape[0];
            int group = (int)Math.Clamp(ProbeElements / Math.Max(1, current.numel()), 1, draws);
            for (int first = 0; first < draws; first += group)
            {
                // A group of directions is queried in one forward pass of [g * m] probes (g * m images, fewer calls).
                int g = Math.Min(group, draws - first);
                var u = UnitDirections([g, .. current.shape], context.Generator).to(current.device); // [g, m, C, H, W]
                var repeatedLabels = labels.repeat(g);
                var repeatedTargets = targets?.repeat(g);
                var probesPlus = (current.unsqueeze(0) + u * mu).flatten(0, 1);
                var plus = criterion.Loss(context.Classifier.Forward(probesPlus), repeatedLabels, repeatedTargets);
                var difference = Antithetic
                    ? (plus - criterion.Loss(context.Classifier.Forward((current.unsqueeze(0) - u * mu).flatten(0, 1)), repeatedLabels, repeatedTargets)) / twoMu
                    : (plus - baseLoss!.repeat(g)) / mu;
                estimate.add_((difference.view(g, m, 1, 1, 1) * u).sum([0L]));
            }
            estimate.div_(drawCount);
            Count(probes);

            var moved = current + StepDirection(estimate) * stepSize;
            var next = (clean + (moved - clean).clamp(negativeEps, eps)).clamp(Scalars.Zero, Scalars.One);
            if (active is null) adversarial.copy_(next);
            else adversarial.index_copy_(0, active, next);
        }
        active?.Dispose();
        LastQueryCounts = queries.cpu().data<long>().ToArray();
        return adversarial;
    }

    // Gaussian draws [g, m, C, H, W] normalised to unit l2 norm per direction and image: directions uniform on the sphere.
    private static Tensor UnitDirections(long[] shape, Generator generator)
    {
        var z = torch.randn(shape, generator: generator);
        return z / z.flatten(2).square().sum([2L], keepdim: true).sqrt().unsqueeze(-1).unsqueeze(-1);
    }

    /// <summary>
    /// The options a catalogue entry builds from <paramref name="settings"/> over <paramref name="defaults"/>: steps from
    /// <c>Steps</c>, or from a <c>Queries</c> budget, else the default.
    /// </summary>
    protected static TOptions FromSettings(TOptions defaults, AttackSettings settings) =>
        (TOptions)((ZerothOrderOptions)defaults with
        {
            Epsilon = settings.EpsilonOrDefault,
            Steps = settings.Steps ?? (settings.Queries is int q ? Math.Max(1, q / defaults.QueriesPerStep) : defaults.Steps),
            StepSize = settings.StepSize ?? defaults.StepSize,
            Target = settings.Target,
            Seed = settings.Seed,
        });

    /// <summary>The knobs a zeroth-order attack reads.</summary>
    protected static readonly string[] ReadKnobs =
    [
        nameof(AttackSettings.Epsilon), nameof(AttackSettings.Norm), nameof(AttackSettings.Steps), nameof(AttackSettings.StepSize),
        nameof(AttackSettings.Queries), nameof(AttackSettings.Target), nameof(AttackSettings.Seed),
    ];
}

/// <summary>Options of <see cref="ZoSignSgd"/> (RED-adv's defaults; see <see cref="ZerothOrderOptions"/>).</summary>
public sealed record ZoSignSgdOptions : ZerothOrderOptions
{
    /// <inheritdoc />
    public override int QueriesPerStep => Directions + 1;

    /// <inheritdoc />
    public override ZoSignSgdOptions Validate()
    {
        base.Validate();
        return this;
    }
}

/// <summary>
/// ZO-signSGD (Liu, Chen, Chen and Hero, "signSGD via zeroth-order oracle", ICLR 2019): the gradient is estimated from
/// one-sided differences (f(x + mu u_j) - f(x)) / mu along q random unit directions u_j (q + 1 queries per step), and
/// the iterate moves by the estimate's sign, an l-inf steepest-ascent step, then is projected onto the budget.
/// </summary>
public sealed class ZoSignSgd : ZerothOrderAttack<ZoSignSgdOptions>
{
    /// <summary>Creates the attack; the options are validated.</summary>
    public ZoSignSgd(ZoSignSgdOptions? options = null) : base("zo-signsgd", options ?? new ZoSignSgdOptions()) { }

    /// <summary>The catalogue entry: l-inf, black-box, targeted modes; reads Epsilon, Norm, Steps, StepSize, Queries (sets the steps), Target, Seed.</summary>
    public static AttackDefinition Definition { get; } = new(
        "zo-signsgd",
        "ZO-signSGD, sign steps on zeroth-order gradient estimates, score-based black-box (Liu et al., ICLR 2019)",
        [Norm.Linf],
        IsBlackBox: true,
        IsMinimumNorm: false,
        SupportsTargets: true,
        settings => new ZoSignSgd(FromSettings(new ZoSignSgdOptions(), settings)))
    {
        Reads = ReadKnobs,
    };

    /// <inheritdoc />
    protected override bool Antithetic => false;

    /// <inheritdoc />
    protected override Tensor StepDirection(Tensor estimate) => estimate.sign();
}

/// <summary>Options of <see cref="Nes"/> (RED-adv's defaults; see <see cref="ZerothOrderOptions"/>). Directions must be even: they come in antithetic pairs.</summary>
public sealed record NesOptions : ZerothOrderOptions
{
    /// <inheritdoc />
    public override int QueriesPerStep => Directions + (StopWhenFooled ? 1 : 0);

    /// <inheritdoc />
    public override NesOptions Validate()
    {
        base.Validate();
        if (Directions < 2 || Directions % 2 != 0)
            throw new ArgumentOutOfRangeException(nameof(Directions), Directions, "Directions must be an even number >= 2 (antithetic pairs u, -u).");
        return this;
    }
}

/// <summary>
/// NES (Ilyas, Engstrom, Athalye and Lin, "Black-box adversarial attacks with limited queries and information", ICML
/// 2018): the gradient is estimated by natural evolution strategies with antithetic sampling, (f(x + mu u) -
/// f(x - mu u)) / (2 mu) u over q/2 pairs of random unit directions (q queries per step), and, as in RED-adv, the
/// iterate moves along the estimate normalised to l2 norm sqrt(d) (so <c>StepSize</c> is the root-mean-square pixel
/// change), then is projected onto the l-inf budget. The step differs from ZO-signSGD's sign, and the differences are
/// two-sided: the two attacks leave different traces, which is what model parsing studies.
/// </summary>
public sealed class Nes : ZerothOrderAttack<NesOptions>
{
    /// <summary>Creates the attack; the options are validated.</summary>
    public Nes(NesOptions? options = null) : base("nes", options ?? new NesOptions()) { }

    /// <summary>The catalogue entry: l-inf, black-box, targeted modes; reads Epsilon, Norm, Steps, StepSize, Queries (sets the steps), Target, Seed.</summary>
    public static AttackDefinition Definition { get; } = new(
        "nes",
        "NES, natural-evolution-strategies gradient estimates with antithetic sampling, score-based black-box (Ilyas et al., ICML 2018)",
        [Norm.Linf],
        IsBlackBox: true,
        IsMinimumNorm: false,
        SupportsTargets: true,
        settings => new Nes(FromSettings(new NesOptions(), settings)))
    {
        Reads = ReadKnobs,
    };

    /// <inheritdoc />
    protected override bool Antithetic => true;

    /// <inheritdoc />
    protected override Tensor StepDirection(Tensor estimate)
    {
        using Scalar tiny = 1e-15.ToScalar(), scale = Math.Sqrt(estimate[0].numel()).ToScalar();
        return estimate / AttackMath.Broadcast(AttackMath.PerSampleNorm(estimate, Norm.L2) + tiny, estimate) * scale;
    }
}
