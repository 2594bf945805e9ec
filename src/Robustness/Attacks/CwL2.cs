using Robustness.Validation;
using Robustness.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Attacks;

/// <summary>
/// Options of <see cref="CwL2"/>. Defaults follow Carlini and Wagner, "Towards Evaluating the Robustness of Neural
/// Networks" (IEEE S&amp;P 2017) and their reference code: Adam with learning rate 0.01, initial constant 1e-3, 9 binary
/// search steps, confidence 0, early abort. The paper runs up to 10,000 Adam steps per search step; the default here is
/// 100 (the budget torchattacks-style evaluations use), which the binary search over c more than makes up for on small
/// models. Raise <see cref="Steps"/> for a stronger, slower attack.
/// </summary>
public sealed record CwL2Options : AttackOptions
{
    /// <summary>Adam steps per binary-search step (paper: up to 10,000; default 100).</summary>
    public int Steps { get; init; } = 100;

    /// <summary>Binary-search steps over the constant c (paper: 9). 1 means a fixed c = <see cref="InitialConstant"/>.</summary>
    public int SearchSteps { get; init; } = 9;

    /// <summary>The constant c every image starts with (paper: 1e-3). Multiplied by 10 until the first success, then bisected.</summary>
    public double InitialConstant { get; init; } = 1e-3;

    /// <summary>
    /// The confidence kappa (paper: 0): a success needs max_{i != y} z_i - z_y &gt;= kappa (untargeted) or
    /// z_t - max_{i != t} z_i &gt;= kappa (targeted), z the logits. Larger values give more transferable, larger perturbations.
    /// </summary>
    public double Confidence { get; init; }

    /// <summary>Adam's learning rate on the tanh-space variable (paper: 0.01).</summary>
    public double LearningRate { get; init; } = 0.01;

    /// <summary>
    /// Stop a search step early when the batch's total objective has not improved by 0.01% over the last tenth of the
    /// steps (the reference code's rule). Saves time; never changes the best result found before stopping.
    /// </summary>
    public bool AbortEarly { get; init; } = true;

    /// <inheritdoc />
    public override CwL2Options Validate()
    {
        base.Validate();
        Require.AtLeast(Steps, 1, nameof(Steps));
        Require.AtLeast(SearchSteps, 1, nameof(SearchSteps));
        Require.InRange(InitialConstant, double.Epsilon, double.PositiveInfinity, nameof(InitialConstant));
        Require.InRange(Confidence, 0, double.PositiveInfinity, nameof(Confidence));
        Require.InRange(LearningRate, double.Epsilon, double.PositiveInfinity, nameof(LearningRate));
        return this;
    }
}

/// <summary>
/// Carlini-Wagner l2 attack (Carlini and Wagner, 2017): a minimum-norm attack. It optimises w in tanh space,
/// x' = (tanh(w) + 1) / 2 (so x' always lies in [0,1]), minimising ||x' - x||_2^2 + c * f(x') with Adam, where
/// f = max(z_y - max_{i != y} z_i, -kappa) untargeted, or f = max(max_{i != t} z_i - z_t, -kappa) targeted.
/// Each image gets its own c, found by binary search: multiplied by 10 until the first success, then bisected;
/// the result is each image's smallest-l2 success over the whole search (the clean image where none succeeded).
/// Unlike torchattacks' fixed c, the search makes the attack strong whatever the scale of the logits.
/// </summary>
public sealed class CwL2 : Attack<CwL2Options>
{
    // The reference code's guards: atanh of exactly +-1 is infinite, and c above this bound means "no upper bound yet".
    private const double TanhShrink = 0.999999;
    private const double NoUpperBound = 1e10;
    private const double AdamBeta1 = 0.9, AdamBeta2 = 0.999, AdamEpsilon = 1e-8;

    /// <summary>Creates the attack with <paramref name="options"/> (validated; defaults when null).</summary>
    public CwL2(CwL2Options? options = null) : base("cw-l2", options ?? new CwL2Options()) { }

    /// <summary>The catalogue entry: reads Steps, SearchSteps (binary-search steps over c), Target and Seed; ignores the budget.</summary>
    public static AttackDefinition Definition { get; } = new(
        "cw-l2",
        "Carlini-Wagner l2 with a binary search over c and confidence kappa (Carlini & Wagner, S&P 2017); minimum-norm.",
        [Norm.L2],
        IsBlackBox: false,
        IsMinimumNorm: true,
        SupportsTargets: true,
        settings => new CwL2(new CwL2Options
        {
            Steps = settings.Steps ?? 100,
            SearchSteps = settings.SearchSteps ?? 9,
            Target = settings.Target,
            Seed = settings.Seed,
        }))
    {
        Reads = [nameof(AttackSettings.Steps), nameof(AttackSettings.SearchSteps), nameof(AttackSettings.Target), nameof(AttackSettings.Seed)],
    };

    /// <inheritdoc />
    public override Norm Norm => Norm.L2;

    /// <inheritdoc />
    protected override Tensor Perturb(AttackContext context)
    {
        var x = context.Images;
        long n = context.Count;
        var labels = context.Targets ?? context.Labels; // the class to leave (untargeted) or to reach (targeted)
        bool targeted = context.Targeted;
        using Scalar shrink = TanhShrink.ToScalar(), initialConstant = Options.InitialConstant.ToScalar(), noUpperBound = NoUpperBound.ToScalar();
        var w0 = ((x * Scalars.Two - Scalars.One) * shrink).atanh();

        var constant = torch.full([n], initialConstant, dtype: ScalarType.Float32, device: context.Device);
        var lower = torch.zeros([n], dtype: ScalarType.Float32, device: context.Device);
        var upper = torch.full([n], noUpperBound, dtype: ScalarType.Float32, device: context.Device);
        var bestDistance = torch.full([n], Scalars.PositiveInfinity, dtype: ScalarType.Float32, device: context.Device);
        var bestAdversarial = x.clone();

        int checkEvery = Math.Max(1, Options.Steps / 10);
        using Scalar beta1 = AdamBeta1.ToScalar(), beta1Complement = (1 - AdamBeta1).ToScalar(),
            beta2 = AdamBeta2.ToScalar(), beta2Complement = (1 - AdamBeta2).ToScalar(),
            adamEpsilon = AdamEpsilon.ToScalar(), learningRate = Options.LearningRate.ToScalar();
        using Scalar searchedBound = (NoUpperBound * 0.1).ToScalar(), ten = 10.ToScalar();
        for (int search = 0; search < Options.SearchSteps; search++)
        {
            // State lives in this scope and is updated in place, so memory stays flat over the steps; each search
            // step starts afresh from the clean image with a new Adam state, as in the reference code.
            using var searchScope = torch.NewDisposeScope();
            var w = w0.clone();
            var m = torch.zeros_like(w);
            var v = torch.zeros_like(w);
            var succeeded = torch.zeros([n], dtype: ScalarType.Bool, device: context.Device);
            double previousObjective = double.PositiveInfinity;

            for (int step = 1; step <= Options.Steps; step++)
            {
                context.CancellationToken.ThrowIfCancellationRequested();
                using var stepScope = torch.NewDisposeScope();
                var (adversarial, distance, success, objective, gradient) = Evaluate(context.Classifier, x, w, labels, constant, targeted);

                // The best success so far for each image, judged at the point the objective was evaluated.
                var improved = success.logical_and(distance.lt(bestDistance));
                bestDistance.copy_(torch.where(improved, distance, bestDistance));
                bestAdversarial.copy_(torch.where(AttackMath.Broadcast(improved, x), adversarial, bestAdversarial));
                succeeded.logical_or_(success);

                // Adam on w (elementwise, so each image's update depends only on its own gradient).
                m.copy_(m * beta1 + gradient * beta1Complement);
                v.copy_(v * beta2 + gradient.square() * beta2Complement);
                double correction1 = 1 - Math.Pow(AdamBeta1, step), correction2 = 1 - Math.Pow(AdamBeta2, step);
                using Scalar bias1 = correction1.ToScalar(), bias2 = correction2.ToScalar();
                w.copy_(w - (m / bias1) / ((v / bias2).sqrt() + adamEpsilon) * learningRate);

                if (Options.AbortEarly && step % checkEvery == 0)
                {
                    double total = objective.sum().item<float>();
                    if (total > previousObjective * 0.9999) break;
                    previousObjective = total;
                }
            }

            // Binary search on c, per image: a success bounds c from above, a failure from below; until the first
            // success c grows tenfold, afterwards it is the midpoint of its bounds.
            upper.copy_(torch.where(succeeded, torch.minimum(upper, constant), upper));
            lower.copy_(torch.where(succeeded, lower, torch.maximum(lower, constant)));
            constant.copy_(torch.where(upper.lt(searchedBound), (lower + upper) / Scalars.Two, constant * ten));
        }
        return bestAdversarial;
    }

    /// <summary>
    /// One forward and backward pass at w: the image x', its squared l2 distance, whether it succeeds with the
    /// required confidence, the per-image objective and its gradient with respect to w.
    /// </summary>
    private (Tensor Adversarial, Tensor Distance, Tensor Success, Tensor Objective, Tensor Gradient) Evaluate(
        Classifier classifier, Tensor x, Tensor w, Tensor labels, Tensor constant, bool targeted)
    {
        using var enable = torch.enable_grad();
        var variable = w.detach().requires_grad_(true);
        var adversarial = (variable.tanh() + Scalars.One) / Scalars.Two;
        var logits = classifier.Forward(adversarial);
        var distance = (adversarial - x).square().flatten(1).sum(1);
        // gap > 0 means "not there yet": z_y - max other (untargeted) or max other - z_t (targeted).
        var margin = AttackMath.Margin(logits, labels);
        var gap = targeted ? -margin : margin;
        double kappa = Options.Confidence;
        using var negativeKappa = (-kappa).ToScalar();
        var f = gap.clamp_min(negativeKappa);
        var objective = distance + constant * f;
        var gradient = torch.autograd.grad([objective.sum()], [variable])[0];
        // Success with confidence kappa: the gap is at least kappa the other way (strictly past the boundary for kappa 0).
        var success = kappa > 0 ? gap.le(negativeKappa) : gap.lt(Scalars.Zero);
        return (adversarial.detach(), distance.detach(), success.detach(), objective.detach(), gradient.detach());
    }
}
