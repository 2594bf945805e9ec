using Robustness.Validation;
using Robustness.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Attacks;

/// <summary>
/// Options of <see cref="DeepFool"/>. Defaults follow Moosavi-Dezfooli, Fawzi and Frossard, "DeepFool: a simple and
/// accurate method to fool deep neural networks" (CVPR 2016) and its reference code: overshoot 0.02, at most 50
/// iterations, the 10 most likely classes (the true one included) as candidates, l2.
/// </summary>
public sealed record DeepFoolOptions : AttackOptions
{
    /// <summary>The norm the perturbation is minimised in: <see cref="Norm.L2"/> (default) or <see cref="Norm.Linf"/>.</summary>
    public Norm Norm { get; init; } = Norm.L2;

    /// <summary>Iterations at most (paper: 50); each image stops as soon as it is misclassified.</summary>
    public int MaxIterations { get; init; } = 50;

    /// <summary>The accumulated step is scaled by 1 + overshoot to cross the boundary instead of landing on it (paper: 0.02).</summary>
    public double Overshoot { get; init; } = 0.02;

    /// <summary>
    /// The number of candidate classes, the true class included: the true class and the <c>Candidates - 1</c> other
    /// classes most likely on the clean image (paper: 10). Capped at the number of classes.
    /// </summary>
    public int Candidates { get; init; } = 10;

    /// <inheritdoc />
    public override DeepFoolOptions Validate()
    {
        base.Validate();
        if (Norm is not (Norm.L2 or Norm.Linf))
            throw new ArgumentOutOfRangeException(nameof(Norm), Norm, "DeepFool's Norm must be L2 or Linf.");
        Require.AtLeast(MaxIterations, 1, nameof(MaxIterations));
        Require.InRange(Overshoot, 0, double.PositiveInfinity, nameof(Overshoot));
        Require.AtLeast(Candidates, 2, nameof(Candidates));
        if (Target.IsTargeted)
            throw new ArgumentOutOfRangeException(nameof(Target), Target, "DeepFool is untargeted: Target must be TargetSelection.None.");
        return this;
    }
}

/// <summary>
/// DeepFool (Moosavi-Dezfooli et al., 2016): a minimum-norm attack that linearises the classifier around the current
/// point and steps onto the nearest linearised decision boundary among the candidate classes, repeating until the
/// label changes. For class k with f_k = z_k - z_y and w_k its gradient, the nearest boundary minimises
/// |f_k| / ||w_k||_q (q = 2 for l2, q = 1 for l-inf), and the step is (|f_k| + 1e-4) / ||w_k||_2^2 * w_k (l2) or
/// (|f_k| + 1e-4) / ||w_k||_1 * sign(w_k) (l-inf). The image returned is x + (1 + overshoot) * (sum of the steps),
/// clamped to [0,1]. Batched over images; images already misclassified stop updating and leave the batch.
/// </summary>
public sealed class DeepFool : Attack<DeepFoolOptions>
{
    // The reference code's guard against a zero step on the boundary itself, and against zero gradients.
    private const double StepFloor = 1e-4;
    private const double Tiny = 1e-8;

    /// <summary>Creates the attack with <paramref name="options"/> (validated; defaults when null).</summary>
    public DeepFool(DeepFoolOptions? options = null) : base("deepfool", options ?? new DeepFoolOptions()) { }

    /// <summary>The catalogue entry: reads Norm (l2 or l-inf), Steps (as the iteration cap) and Seed; ignores the budget.</summary>
    public static AttackDefinition Definition { get; } = new(
        "deepfool",
        "DeepFool, l2 and l-inf, overshoot 0.02, 10 candidate classes (Moosavi-Dezfooli et al., CVPR 2016); minimum-norm.",
        [Norm.L2, Norm.Linf],
        IsBlackBox: false,
        IsMinimumNorm: true,
        SupportsTargets: false,
        settings => new DeepFool(new DeepFoolOptions
        {
            Norm = settings.Norm,
            MaxIterations = settings.Steps ?? 50,
            Seed = settings.Seed,
        }))
    {
        Reads = [nameof(AttackSettings.Norm), nameof(AttackSettings.Steps), nameof(AttackSettings.Seed)],
    };

    /// <inheritdoc />
    public override Norm Norm => Options.Norm;

    /// <inheritdoc />
    protected override Tensor Perturb(AttackContext context)
    {
        var x = context.Images;
        var labels = context.Labels;
        int candidates = Math.Min(Options.Candidates, context.Classifier.Classes);

        Tensor classes, active;
        using (torch.no_grad())
        {
            // Candidate classes per image: the true label first, then the most likely other classes on the clean image.
            var logits = context.Classifier.Forward(x);
            var isLabel = torch.nn.functional.one_hot(labels, logits.shape[1]).to(ScalarType.Bool);
            var others = logits.masked_fill(isLabel, Scalars.NegativeInfinity).topk(candidates - 1, 1).indexes;
            classes = torch.cat([labels.unsqueeze(1), others], 1);
            active = logits.argmax(1).eq(labels);
        }
        var adversarial = x.clone();
        var totalStep = torch.zeros_like(x);
        using var overshoot = (1 + Options.Overshoot).ToScalar();

        for (int iteration = 0; iteration < Options.MaxIterations; iteration++)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            using var step = torch.NewDisposeScope();
            var index = active.nonzero().squeeze(1);
            if (index.shape[0] == 0) break;

            var (values, gradients, stillCorrect) = BoundaryDifferences(context.Classifier, adversarial.index_select(0, index), classes.index_select(0, index));
            // Images already misclassified at this iteration's point take no step.
            var stepTaken = NearestBoundaryStep(values, gradients) * stillCorrect.to(x.dtype).unsqueeze(1);
            var current = totalStep.index_select(0, index);
            var total = current + stepTaken.view(current.shape);
            totalStep.index_copy_(0, index, total);
            adversarial.index_copy_(0, index, (x.index_select(0, index) + total * overshoot).clamp(Scalars.Zero, Scalars.One));
            // Images found misclassified keep their point and leave the batch.
            active.index_copy_(0, index, stillCorrect);
        }
        return adversarial;
    }

    /// <summary>
    /// At images <paramref name="x"/>: f_k = z_k - z_y for the candidate classes k other than y ([n, K-1]), their
    /// gradients flattened ([n, K-1, D]), and whether each image is still classified as y ([n]). One forward pass and
    /// K-1 backward passes through the same graph, so nothing is written to the parameters' gradients.
    /// </summary>
    private static (Tensor Values, Tensor Gradients, Tensor StillCorrect) BoundaryDifferences(Classifier classifier, Tensor x, Tensor classes)
    {
        using var enable = torch.enable_grad();
        var input = x.detach().requires_grad_(true);
        var logits = classifier.Forward(input);
        var candidateLogits = logits.gather(1, classes);
        var differences = candidateLogits.narrow(1, 1, classes.shape[1] - 1) - candidateLogits.narrow(1, 0, 1);
        long k = differences.shape[1];
        var gradients = new Tensor[k];
        for (long c = 0; c < k; c++)
        {
            bool last = c == k - 1;
            gradients[c] = torch.autograd.grad([differences.select(1, c).sum()], [input], retain_graph: !last)[0].flatten(1);
        }
        var stillCorrect = logits.argmax(1).eq(classes.select(1, 0));
        return (differences.detach(), torch.stack(gradients, 1).detach(), stillCorrect.detach());
    }

    /// <summary>The step onto the nearest linearised boundary, [n, D], for the configured norm.</summary>
    private Tensor NearestBoundaryStep(Tensor values, Tensor gradients)
    {
        using Scalar tiny = Tiny.ToScalar(), stepFloor = StepFloor.ToScalar();
        var dual = Options.Norm == Norm.L2 ? gradients.square().sum(2).sqrt() : gradients.abs().sum(2); // ||w_k||_q, [n, K-1]
        var distance = values.abs() / (dual + tiny);
        var nearest = distance.argmin(1, keepdim: true);                                   // [n, 1]
        var f = values.gather(1, nearest).squeeze(1).abs() + stepFloor;                    // [n]
        var normOfW = dual.gather(1, nearest).squeeze(1) + tiny;                            // [n]
        var w = gradients.gather(1, nearest.unsqueeze(2).expand(-1, -1, gradients.shape[2])).squeeze(1); // [n, D]
        return Options.Norm == Norm.L2
            ? w * (f / normOfW.square()).unsqueeze(1)
            : w.sign() * (f / normOfW).unsqueeze(1);
    }
}
