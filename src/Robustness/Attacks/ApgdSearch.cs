using Robustness.Optimization;
using Robustness.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Attacks;

/// <summary>What a loss-specific Auto-PGD variant hands the search: the loss to maximise and the success test.</summary>
/// <param name="Loss">Per-image loss [N] from (logits, labels, loss targets or null); the search maximises it.</param>
/// <param name="Reached">Per-image bool [N] from (logits, labels, loss targets or null): the image is adversarial.</param>
internal sealed record ApgdObjective(Func<Tensor, Tensor, Tensor?, Tensor> Loss, Func<Tensor, Tensor, Tensor?, Tensor> Reached);

/// <summary>The result of one Auto-PGD run over a batch, per image (all tensors [N, ...] in the caller's scope).</summary>
/// <param name="Fooled">bool [N]: an adversarial point was found.</param>
/// <param name="Adversarial">The first adversarial point found (meaningful where <paramref name="Fooled"/>).</param>
/// <param name="BestPoint">The point of highest loss (meaningful where not <paramref name="Fooled"/>).</param>
/// <param name="BestLoss">Its loss; -inf where <paramref name="Fooled"/>.</param>
internal sealed record ApgdOutcome(Tensor Fooled, Tensor Adversarial, Tensor BestPoint, Tensor BestLoss);

/// <summary>
/// One Auto-PGD run from one (random) start (Croce and Hein, 2020, Algorithm 1): a momentum step of size eta per
/// image, with eta halved at the checkpoints of <see cref="ApgdSchedule"/> when fewer than rho of the steps since
/// the last checkpoint raised the loss, or when neither eta nor the best loss changed since then; a halving restarts
/// the image from its best point (and best gradient). An image leaves the search as soon as it is adversarial, keeping
/// that first adversarial point: the others are unaffected, since every image has its own step size and state.
/// </summary>
internal sealed class ApgdSearch
{
    private const double Tiny = 1e-12;
    private readonly Classifier _classifier;
    private readonly ApgdOptions _options;
    private readonly ApgdObjective _objective;
    private readonly Generator _generator;
    private readonly CancellationToken _cancellationToken;

    public ApgdSearch(Classifier classifier, ApgdOptions options, ApgdObjective objective, Generator generator, CancellationToken cancellationToken)
    {
        _classifier = classifier;
        _options = options;
        _objective = objective;
        _generator = generator;
        _cancellationToken = cancellationToken;
    }

    /// <summary>Runs the search on <paramref name="images"/>; <paramref name="targets"/> feed the loss (null when untargeted).</summary>
    public ApgdOutcome Run(Tensor images, Tensor labels, Tensor? targets)
    {
        using var scope = torch.NewDisposeScope();
        long n = images.shape[0];
        var fooled = torch.zeros(n, ScalarType.Bool, images.device);
        var adversarial = images.clone();
        var bestPoint = images.clone();
        var bestLoss = torch.full(n, Scalars.NegativeInfinity, ScalarType.Float32, images.device);

        var front = Start(images, labels, targets, fooled, adversarial);
        int interval = ApgdSchedule.FirstLength(_options.Steps), checkpoint = interval;
        for (int i = 0; i < _options.Steps && front.Count > 0; i++)
        {
            _cancellationToken.ThrowIfCancellationRequested();
            using var step = torch.NewDisposeScope();
            var next = Step(front, i);
            if (i + 1 == checkpoint)
            {
                next = Checkpoint(front, next, interval);
                interval = ApgdSchedule.NextLength(interval, _options.Steps);
                checkpoint += interval;
            }
            next = Retire(next, fooled, adversarial);
            front = front.Become(next);
        }
        if (front.Count > 0)
        {
            bestPoint.index_copy_(0, front.Index, front.Best);
            bestLoss.index_copy_(0, front.Index, front.LossBest);
        }
        return new ApgdOutcome(fooled.MoveToOuterDisposeScope(), adversarial.MoveToOuterDisposeScope(),
            bestPoint.MoveToOuterDisposeScope(), bestLoss.MoveToOuterDisposeScope());
    }

    private Front Start(Tensor images, Tensor labels, Tensor? targets, Tensor fooled, Tensor adversarial)
    {
        var start = _options.RandomStart ? RandomStart(images) : images.clone();
        var (loss, gradient, logits) = AttackMath.LossAndGradient(_classifier, start, l => _objective.Loss(l, labels, targets));
        var reached = _objective.Reached(logits, labels, targets);
        long n = images.shape[0];
        using Scalar count = n.ToScalar(), firstStep = (2 * _options.Epsilon).ToScalar();
        var front = new Front(
            Index: torch.arange(count, dtype: ScalarType.Int64, device: images.device),
            // Aliases: the front frees the tensors it drops, and the caller's own handles must survive that.
            X: images.alias(), Y: labels.alias(), T: targets?.alias(),
            Adv: start, Prev: start, Grad: gradient,
            Step: torch.full(n, firstStep, ScalarType.Float32, images.device),
            Best: start, GradBest: gradient, LossBest: loss, LossPrev: loss, LossAtCheck: loss,
            // The paper's second condition compares with the previous checkpoint; at w_0 = 0 nothing was halved.
            Reduced: torch.zeros(n, ScalarType.Bool, images.device),
            Increases: torch.zeros(n, ScalarType.Float32, images.device),
            Probe: start, Reached: reached);
        return Retire(front, fooled, adversarial);
    }

    // The reference implementation's start: a random point on the boundary of the ball (for l-inf, a uniform draw
    // rescaled so that its largest coordinate is eps), clamped to the image box. Drawn on the CPU from the seed.
    private Tensor RandomStart(Tensor images)
    {
        using Scalar tiny = Tiny.ToScalar(), epsilon = _options.Epsilon.ToScalar();
        var shape = images.shape;
        var direction = _options.Norm == Norm.Linf
            ? torch.rand(shape, generator: _generator) * Scalars.Two - Scalars.One
            : torch.randn(shape, generator: _generator);
        direction = direction.to(images.device);
        var unit = direction / AttackMath.Broadcast(AttackMath.PerSampleNorm(direction, _options.Norm) + tiny, direction);
        return (images + unit * epsilon).clamp(Scalars.Zero, Scalars.One);
    }

    // One momentum step (Algorithm 1, lines 8-9): z = P(x + eta * direction(grad)),
    // x' = P(x + alpha (z - x) + (1 - alpha)(x - x_prev)); the first step has no momentum.
    private Front Step(Front f, int iteration)
    {
        double alpha = iteration == 0 ? 1.0 : _options.Momentum;
        using Scalar towardZ = alpha.ToScalar(), momentum = (1 - alpha).ToScalar();
        var z = Project(f.X, f.Adv + AttackMath.Broadcast(f.Step, f.Adv) * AttackMath.SteepestDirection(f.Grad, _options.Norm));
        var moved = Project(f.X, f.Adv + (z - f.Adv) * towardZ + (f.Adv - f.Prev) * momentum);
        var (loss, gradient, logits) = AttackMath.LossAndGradient(_classifier, moved, l => _objective.Loss(l, f.Y, f.T));
        var improved = loss.gt(f.LossBest);
        var improvedImage = AttackMath.Broadcast(improved, moved);
        return f with
        {
            Adv = moved, Prev = f.Adv, Grad = gradient,
            Best = torch.where(improvedImage, moved, f.Best),
            GradBest = torch.where(improvedImage, gradient, f.GradBest),
            LossBest = torch.where(improved, loss, f.LossBest),
            LossPrev = loss,
            Increases = f.Increases + loss.gt(f.LossPrev).to(ScalarType.Float32),
            Probe = moved,
            Reached = _objective.Reached(logits, f.Y, f.T),
        };
    }

    // At a checkpoint w_j: halve eta where (1) fewer than rho (w_j - w_{j-1}) steps raised the loss, or (2) eta was not
    // halved at w_{j-1} and the best loss has not grown since; those images restart from their best point.
    private Front Checkpoint(Front before, Front after, int interval)
    {
        using var minimumGains = (_options.Rho * interval).ToScalar();
        var tooFewGains = after.Increases.lt(minimumGains);
        var stalled = before.Reduced.logical_not().logical_and(before.LossAtCheck.ge(after.LossBest));
        var halve = tooFewGains.logical_or(stalled);
        var halveImage = AttackMath.Broadcast(halve, after.Adv);
        return after with
        {
            Step = torch.where(halve, after.Step / Scalars.Two, after.Step),
            Adv = torch.where(halveImage, after.Best, after.Adv),
            Grad = torch.where(halveImage, after.GradBest, after.Grad),
            Reduced = halve,
            LossAtCheck = after.LossBest,
            Increases = torch.zeros_like(after.Increases),
        };
    }

    // Images that became adversarial leave the search; their adversarial point (the iterate that fooled the model,
    // before any restart from the best point) is recorded. One host sync per step, none per image.
    private static Front Retire(Front f, Tensor fooled, Tensor adversarial)
    {
        if (!f.Reached.any().item<bool>()) return f;
        var done = f.Reached.nonzero().squeeze(1);
        var doneIndex = f.Index.index_select(0, done);
        fooled.index_fill_(0, doneIndex, Scalars.True);
        adversarial.index_copy_(0, doneIndex, f.Probe.index_select(0, done));
        return f.Select(f.Reached.logical_not().nonzero().squeeze(1));
    }

    // APGD's per-image step sizes and momentum are its own; its feasible set is the engine's norm ball.
    private Tensor Project(Tensor clean, Tensor point) => new NormBall(clean, _options.Norm, _options.Epsilon).Project(point);

    /// <summary>
    /// The images still searched, with their state; immutable, replaced each step. <see cref="Probe"/> is the point
    /// whose logits gave <see cref="Reached"/> (the iterate before a checkpoint's reset to the best point).
    /// </summary>
    private sealed record Front(
        Tensor Index, Tensor X, Tensor Y, Tensor? T,
        Tensor Adv, Tensor Prev, Tensor Grad, Tensor Step,
        Tensor Best, Tensor GradBest, Tensor LossBest, Tensor LossPrev, Tensor LossAtCheck,
        Tensor Reduced, Tensor Increases, Tensor Probe, Tensor Reached)
    {
        public long Count => Index.shape[0];

        private Tensor?[] All => [Index, X, Y, T, Adv, Prev, Grad, Step, Best, GradBest, LossBest, LossPrev, LossAtCheck, Reduced, Increases, Probe, Reached];

        /// <summary>The rows <paramref name="keep"/> of every state tensor.</summary>
        public Front Select(Tensor keep) => new(
            Index.index_select(0, keep), X.index_select(0, keep), Y.index_select(0, keep), T?.index_select(0, keep),
            Adv.index_select(0, keep), Prev.index_select(0, keep), Grad.index_select(0, keep), Step.index_select(0, keep),
            Best.index_select(0, keep), GradBest.index_select(0, keep), LossBest.index_select(0, keep), LossPrev.index_select(0, keep),
            LossAtCheck.index_select(0, keep), Reduced.index_select(0, keep), Increases.index_select(0, keep),
            Probe.index_select(0, keep), Reached.index_select(0, keep));

        /// <summary>
        /// Replaces this state by <paramref name="next"/>: tensors new in <paramref name="next"/> move out of the step's
        /// dispose scope, tensors of this state that <paramref name="next"/> no longer holds are freed now, so memory
        /// stays flat over the iterations.
        /// </summary>
        public Front Become(Front next)
        {
            var mine = new HashSet<Tensor>(All.OfType<Tensor>(), ReferenceEqualityComparer.Instance);
            var theirs = new HashSet<Tensor>(next.All.OfType<Tensor>(), ReferenceEqualityComparer.Instance);
            foreach (var t in theirs) if (!mine.Contains(t)) t.MoveToOuterDisposeScope();
            foreach (var t in mine) if (!theirs.Contains(t)) t.Dispose();
            return next;
        }
    }
}
