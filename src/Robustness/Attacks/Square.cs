using Robustness.Validation;
using Robustness.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Attacks;

/// <summary>
/// Options of <see cref="Square"/>. Defaults: AutoAttack's standard Square (Andriushchenko et al., 2020, "Square
/// Attack: a query-efficient black-box adversarial attack via random search", ECCV): 5,000 queries, p_init 0.8,
/// eps 8/255 in l-inf.
/// </summary>
public sealed record SquareOptions : BoundedAttackOptions
{
    /// <summary>
    /// Query budget per image: the initialisation counts as one query, each random-search iteration as one more
    /// (one further forward pass per image checks the clean prediction first). Default 5,000.
    /// </summary>
    public int Queries { get; init; } = 5000;

    /// <summary>Initial fraction of the pixels a square covers, halved on <see cref="SquareSchedule"/>. Default 0.8; in (0, 1].</summary>
    public double PInit { get; init; } = 0.8;

    /// <inheritdoc />
    public override SquareOptions Validate()
    {
        base.Validate();
        if (Norm == Norm.L1) throw new ArgumentOutOfRangeException(nameof(Norm), Norm, "Square supports the Linf and L2 norms.");
        Require.AtLeast(Queries, 1, nameof(Queries));
        if (!(PInit > 0 && PInit <= 1)) throw new ArgumentOutOfRangeException(nameof(PInit), PInit, "PInit must be a number in (0, 1].");
        return this;
    }
}

/// <summary>
/// The Square Attack (Andriushchenko et al., 2020): a score-based black-box attack. It reads only the model's logits,
/// always under <c>no_grad</c>, and never computes a gradient. Random search on the margin loss
/// z_y - max_{i != y} z_i (for a target t: max_{i != t} z_i - z_t): each iteration proposes a change of one random
/// square per image, keeps it when the margin drops, and stops querying an image once its margin is &lt;= 0.
/// <para>l-inf: starts from vertical stripes of +-eps (one sign per column and channel); a proposal sets a random
/// s x s square (position drawn per image) to x +- eps with one sign per channel (adding +-2 eps and projecting),
/// redrawing the signs when they would change nothing.</para>
/// <para>l2: starts from a 5 x 5 grid of bumps (<see cref="SquarePatterns"/>) with random signs, scaled to norm eps;
/// a proposal moves the perturbation's mass from a second random square into a first one, where it adds a fresh bump
/// of random sign per channel, then rescales the whole perturbation to norm eps. As in the authors' code, the two
/// squares' positions are shared by the images of a batch.</para>
/// <para>After <see cref="IAttack.Run"/>, <see cref="LastQueryCounts"/> holds the queries spent on each image.</para>
/// </summary>
public sealed class Square : Attack<SquareOptions>
{
    private const double Tiny = 1e-12;
    private const int SignRedraws = 10;

    /// <summary>Creates the attack; the options are validated.</summary>
    public Square(SquareOptions? options = null) : base("square", options ?? new SquareOptions()) { }

    /// <summary>The catalogue entry: l-inf and l2, black-box, targeted modes; reads Epsilon, Norm, Queries, Target, Seed.</summary>
    public static AttackDefinition Definition { get; } = new(
        "square",
        "Square Attack, score-based black-box random search (Andriushchenko et al., ECCV 2020)",
        [Norm.Linf, Norm.L2],
        IsBlackBox: true,
        IsMinimumNorm: false,
        SupportsTargets: true,
        settings =>
        {
            var defaults = new SquareOptions();
            return new Square(defaults with
            {
                Epsilon = settings.EpsilonOrDefault,
                Norm = settings.Norm,
                Queries = settings.Queries ?? defaults.Queries,
                Target = settings.Target,
                Seed = settings.Seed,
            });
        })
    {
        Reads = [nameof(AttackSettings.Epsilon), nameof(AttackSettings.Norm), nameof(AttackSettings.Queries), nameof(AttackSettings.Target), nameof(AttackSettings.Seed)],
    };

    /// <inheritdoc />
    public override bool IsBlackBox => true;

    /// <summary>
    /// Queries spent on each image by the latest <see cref="IAttack.Run"/> of this instance (initialisation plus
    /// iterations; 0 for an image the model already got wrong; the clean check is not counted). Null before the
    /// first run. An instance shared between threads sees the last run to finish.
    /// </summary>
    public IReadOnlyList<long>? LastQueryCounts { get; private set; }

    /// <inheritdoc />
    protected override Tensor Perturb(AttackContext context)
    {
        using var noGrad = torch.no_grad(); // black-box: no graph is ever built, so no backward can exist
        var x = context.Images;
        long n = context.Count;
        var best = x.clone();
        var margin = Margin(context.Classifier, x, context.Labels, context.Targets);
        var queries = torch.zeros(n, ScalarType.Int64, x.device);

        var pending = Unfooled(margin);
        if (pending is not null)
        {
            var start = Options.Norm == Norm.Linf ? LinfStart(x.index_select(0, pending), context.Generator) : L2Start(x.index_select(0, pending), context.Generator);
            best.index_copy_(0, pending, start);
            margin.index_copy_(0, pending, Margin(context.Classifier, start, context.Labels.index_select(0, pending), context.Targets?.index_select(0, pending)));
            queries.index_fill_(0, pending, Scalars.One);
        }
        for (int iteration = 0; iteration < Options.Queries - 1; iteration++)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            using var step = torch.NewDisposeScope();
            pending = Unfooled(margin);
            if (pending is null) break;
            var clean = x.index_select(0, pending);
            var current = best.index_select(0, pending);
            double p = SquareSchedule.Fraction(iteration, Options.Queries, Options.PInit);
            var proposal = Options.Norm == Norm.Linf ? LinfProposal(clean, current, p, context.Generator) : L2Proposal(clean, current, p, context.Generator);
            var proposalMargin = Margin(context.Classifier, proposal, context.Labels.index_select(0, pending), context.Targets?.index_select(0, pending));
            var currentMargin = margin.index_select(0, pending);
            var improved = proposalMargin.lt(currentMargin);
            best.index_copy_(0, pending, torch.where(AttackMath.Broadcast(improved, proposal), proposal, current));
            margin.index_copy_(0, pending, torch.where(improved, proposalMargin, currentMargin));
            queries.index_add_(0, pending, torch.ones_like(pending), Scalars.One);
        }
        LastQueryCounts = queries.cpu().data<long>().ToArray();
        return best;
    }

    // The margin to drive below zero: z_y - max_{i != y} z_i, or for a target t, max_{i != t} z_i - z_t.
    private static Tensor Margin(Classifier classifier, Tensor images, Tensor labels, Tensor? targets)
    {
        var logits = classifier.Forward(images);
        return targets is null ? AttackMath.Margin(logits, labels) : AttackMath.Margin(logits, targets).neg();
    }

    // Images still classified as the attack does not want (margin > 0); null when none. One host sync.
    private static Tensor? Unfooled(Tensor margin)
    {
        var pending = margin.gt(Scalars.Zero).nonzero().squeeze(1);
        return pending.shape[0] == 0 ? null : pending;
    }

    // Vertical stripes: each column of each channel shifted by +eps or -eps.
    private Tensor LinfStart(Tensor x, Generator generator)
    {
        var signs = RandomSigns([x.shape[0], x.shape[1], 1, x.shape[3]], generator).to(x.device);
        using var eps = Options.Epsilon.ToScalar();
        return (x + signs * eps).clamp(Scalars.Zero, Scalars.One);
    }

    // One s x s square per image at a random position, set to x +- eps (one sign per channel); signs that would leave
    // the square as it is are redrawn (a few times), so queries are not spent on no-ops.
    private Tensor LinfProposal(Tensor x, Tensor current, double p, Generator generator)
    {
        long n = x.shape[0], channels = x.shape[1];
        int height = (int)x.shape[2], width = (int)x.shape[3];
        int s = SquareSchedule.LinfSide(p, height, width);
        var top = torch.randint(0, height - s + 1, [n], generator: generator, dtype: ScalarType.Int64).to(x.device);
        var left = torch.randint(0, width - s + 1, [n], generator: generator, dtype: ScalarType.Int64).to(x.device);
        using Scalar rowCount = height.ToScalar(), colCount = width.ToScalar(), side = s.ToScalar();
        // The start and step are passed too: arange(stop) would make temporary Scalars of 0 and 1 inside TorchSharp.
        var rows = torch.arange(Scalars.Zero, rowCount, Scalars.One, dtype: ScalarType.Int64, device: x.device).view(1, 1, height, 1);
        var cols = torch.arange(Scalars.Zero, colCount, Scalars.One, dtype: ScalarType.Int64, device: x.device).view(1, 1, 1, width);
        var top4 = top.view(n, 1, 1, 1);
        var left4 = left.view(n, 1, 1, 1);
        var window = rows.ge(top4).logical_and(rows.lt(top4 + side)).logical_and(cols.ge(left4)).logical_and(cols.lt(left4 + side));

        using Scalar eps = Options.Epsilon.ToScalar(), noChange = 1e-7.ToScalar();
        var signs = RandomSigns([n, channels, 1, 1], generator).to(x.device);
        var proposal = torch.where(window, (x + signs * eps).clamp(Scalars.Zero, Scalars.One), current);
        for (int redraw = 0; redraw < SignRedraws; redraw++)
        {
            var unchanged = (proposal - current).abs().gt(noChange).logical_and(window).flatten(1).any(1).logical_not();
            if (!unchanged.any().item<bool>()) break;
            var fresh = RandomSigns([n, channels, 1, 1], generator).to(x.device);
            signs = torch.where(AttackMath.Broadcast(unchanged, signs), fresh, signs);
            proposal = torch.where(window, (x + signs * eps).clamp(Scalars.Zero, Scalars.One), current);
        }
        return proposal;
    }

    // A grid of bumps, 5 per side, each of side min(H, W) / 5, with a random sign per image and channel, centred in
    // the image; the whole perturbation scaled to norm eps.
    private Tensor L2Start(Tensor x, Generator generator)
    {
        long n = x.shape[0], channels = x.shape[1];
        int height = (int)x.shape[2], width = (int)x.shape[3];
        int s = Math.Max(Math.Min(height, width) / 5, 1);
        var delta = torch.zeros(x.shape);
        for (int top = (height - 5 * s) / 2, i = 0; i < height / s && top + s <= height; i++, top += s)
        {
            for (int left = (width - 5 * s) / 2, j = 0; j < width / s && left + s <= width; j++, left += s)
            {
                var bump = SquarePatterns.Bump(s, RandomBit(generator)).view(1, 1, s, s);
                var signs = RandomSigns([n, channels, 1, 1], generator);
                delta.narrow(2, top, s).narrow(3, left, s).add_(bump * signs);
            }
        }
        delta = delta.to(x.device);
        return (x + ToRadius(delta)).clamp(Scalars.Zero, Scalars.One);
    }

    // Two random squares (shared by the batch): the perturbation inside both, plus the budget still unused, is
    // re-spread over the first as the old content of the first (normalised) plus a fresh bump of random sign per
    // channel; the second is emptied; the result is rescaled to norm eps. Mass moves, the norm stays at eps.
    private Tensor L2Proposal(Tensor x, Tensor current, double p, Generator generator)
    {
        long n = x.shape[0], channels = x.shape[1];
        int height = (int)x.shape[2], width = (int)x.shape[3];
        int s = SquareSchedule.L2Side(p, height, width);
        long top1 = RandomInt(height - s + 1, generator), left1 = RandomInt(width - s + 1, generator);
        long top2 = RandomInt(height - s + 1, generator), left2 = RandomInt(width - s + 1, generator);

        var delta = current - x;
        var first = delta.narrow(2, top1, s).narrow(3, left1, s);
        var firstNorm = first.square().sum([2L, 3L], keepdim: true).sqrt();
        var both = torch.zeros_like(delta);
        both.narrow(2, top1, s).narrow(3, left1, s).fill_(Scalars.One);
        both.narrow(2, top2, s).narrow(3, left2, s).fill_(Scalars.One);
        var bothNorm = (delta * both).square().sum([2L, 3L], keepdim: true).sqrt();
        var imageNorm = AttackMath.PerSampleNorm(delta, Norm.L2).view(n, 1, 1, 1);
        double eps = Options.Epsilon;
        using Scalar tiny = Tiny.ToScalar(), epsSquared = (eps * eps).ToScalar(), channelCount = channels.ToScalar();

        var bump = SquarePatterns.Bump(s, RandomBit(generator)).view(1, 1, s, s).to(x.device);
        var fresh = bump * RandomSigns([n, channels, 1, 1], generator).to(x.device) + first / (firstNorm + tiny);
        var mass = ((epsSquared - imageNorm.square()).clamp_min(Scalars.Zero) / channelCount + bothNorm.square()).sqrt();
        fresh = fresh / (fresh.square().sum([2L, 3L], keepdim: true).sqrt() + tiny) * mass;

        var updated = delta.clone();
        updated.narrow(2, top2, s).narrow(3, left2, s).zero_();
        updated.narrow(2, top1, s).narrow(3, left1, s).copy_(fresh);
        return (x + ToRadius(updated)).clamp(Scalars.Zero, Scalars.One);
    }

    private Tensor ToRadius(Tensor delta)
    {
        using Scalar tiny = Tiny.ToScalar(), eps = Options.Epsilon.ToScalar();
        return delta / AttackMath.Broadcast(AttackMath.PerSampleNorm(delta, Norm.L2) + tiny, delta) * eps;
    }

    private static Tensor RandomSigns(long[] shape, Generator generator) =>
        torch.randint(0, 2, shape, generator: generator, dtype: ScalarType.Float32) * Scalars.Two - Scalars.One;

    private static long RandomInt(long high, Generator generator) =>
        torch.randint(0, high, [1], generator: generator, dtype: ScalarType.Int64).item<long>();

    private static bool RandomBit(Generator generator) => RandomInt(2, generator) == 1;
}
