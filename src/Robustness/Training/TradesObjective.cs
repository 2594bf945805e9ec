using Robustness.Validation;
using System.Globalization;
using Robustness.Attacks;
using Robustness.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Training;

/// <summary>
/// Options of TRADES (Zhang et al., 2019, "Theoretically principled trade-off between robustness and accuracy").
/// Defaults are the paper's CIFAR-10 settings: beta 6, l-inf eps 8/255, 10 steps of 2/255 (the code's 0.007),
/// started from x + 0.001 N(0, 1).
/// </summary>
public sealed record TradesOptions
{
    /// <summary>Weight of the robustness (KL) term (>= 0), 6 by default; 1/lambda in the paper.</summary>
    public double Beta { get; init; } = 6.0;

    /// <summary>The budget on the [0,1] scale (>= 0), 8/255 by default.</summary>
    public double Epsilon { get; init; } = 8.0 / 255.0;

    /// <summary>The inner step size on the [0,1] scale (> 0), 2/255 by default.</summary>
    public double StepSize { get; init; } = 2.0 / 255.0;

    /// <summary>Inner steps per batch (>= 1), 10 by default.</summary>
    public int Steps { get; init; } = 10;

    /// <summary>The norm of the budget; l-inf by default.</summary>
    public Norm Norm { get; init; } = Norm.Linf;

    /// <summary>Standard deviation of the Gaussian start around the clean image (>= 0), 0.001 by default.</summary>
    public double InitialNoise { get; init; } = 0.001;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first option out of range; returns this.</summary>
    public TradesOptions Validate()
    {
        if (double.IsNaN(Beta) || double.IsInfinity(Beta) || Beta < 0)
            throw new ArgumentOutOfRangeException(nameof(Beta), Beta, "Beta must be a finite number >= 0.");
        Budget.Check(Epsilon, nameof(Epsilon));
        Require.Positive(StepSize, nameof(StepSize));
        Require.AtLeast(Steps, 1, nameof(Steps));
        if (!Enum.IsDefined(Norm)) throw new ArgumentOutOfRangeException(nameof(Norm), Norm, "Norm must be Linf, L2 or L1.");
        if (double.IsNaN(InitialNoise) || double.IsInfinity(InitialNoise) || InitialNoise < 0)
            throw new ArgumentOutOfRangeException(nameof(InitialNoise), InitialNoise, "InitialNoise must be a finite number >= 0.");
        return this;
    }
}

/// <summary>
/// TRADES (Zhang et al., 2019): CE(f(x), y) + beta * KL(f(x) || f(x')), with x' maximising the KL term inside the
/// budget by projected steepest ascent from x + 0.001 N(0, 1). As in the TRADES code, x' is crafted in eval mode
/// (the clean distribution f(x) fixed, from the running batch-norm statistics) and the loss is computed back in
/// training mode, the clean and adversarial batches in separate forward passes; the KL term is averaged over the
/// batch and keeps its gradient through f(x). Training accuracy counts the clean logits.
/// </summary>
public sealed class TradesObjective : ITrainingObjective
{
    /// <summary>TRADES with <paramref name="options"/> (the paper's defaults when null).</summary>
    public TradesObjective(TradesOptions? options = null)
    {
        Options = (options ?? new TradesOptions()).Validate();
    }

    /// <summary>The validated options.</summary>
    public TradesOptions Options { get; }

    /// <summary>
    /// The TRADES loss from the logits: mean CE(clean, y) + <paramref name="beta"/> * mean KL(softmax(clean) || softmax(adversarial)).
    /// Equals the cross-entropy when the adversarial logits equal the clean ones.
    /// </summary>
    public static Tensor Loss(Tensor cleanLogits, Tensor adversarialLogits, Tensor labels, double beta)
    {
        ArgumentNullException.ThrowIfNull(cleanLogits);
        ArgumentNullException.ThrowIfNull(adversarialLogits);
        ArgumentNullException.ThrowIfNull(labels);
        var natural = nn.functional.cross_entropy(cleanLogits, labels);
        var robust = KlDivergence(cleanLogits, adversarialLogits).mean();
        using var weight = beta.ToScalar();
        return natural + robust * weight; // robust * beta == beta * robust exactly (IEEE multiplication commutes)
    }

    /// <summary>KL(softmax(p) || softmax(q)) per row, [N]: zero exactly when the rows are equal.</summary>
    internal static Tensor KlDivergence(Tensor referenceLogits, Tensor logits)
    {
        var logP = nn.functional.log_softmax(referenceLogits, 1);
        var logQ = nn.functional.log_softmax(logits, 1);
        return (logP.exp() * (logP - logQ)).sum(1);
    }

    /// <inheritdoc />
    public ObjectiveOutput Compute(Classifier classifier, Tensor images, Tensor labels, TrainingStep step)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        var adversarial = Craft(classifier, images.detach(), step);
        var cleanLogits = classifier.Forward(images);
        var adversarialLogits = classifier.Forward(adversarial);
        return new ObjectiveOutput(Loss(cleanLogits, adversarialLogits, labels, Options.Beta), cleanLogits);
    }

    private Tensor Craft(Classifier classifier, Tensor clean, TrainingStep step)
    {
        var o = Options;
        using var mode = classifier.EvalMode();
        Tensor reference;
        using (torch.no_grad()) reference = classifier.Forward(clean);
        Tensor noise;
        using (var generator = InnerMaximisation.GeneratorFor(step))
        using (var initialNoise = o.InitialNoise.ToScalar())
            noise = (torch.randn(clean.shape, generator: generator) * initialNoise).to(clean.device);
        var start = (clean + AttackMath.Project(noise, o.Norm, o.Epsilon)).clamp(Scalars.Zero, Scalars.One);
        return InnerMaximisation.Ascend(classifier, clean, start, logits => KlDivergence(reference, logits),
            o.Norm, o.Epsilon, o.StepSize, o.Steps, ModelMode.Eval);
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"TRADES (beta {Options.Beta:G4}, {Options.Norm.Name()}, eps {Budget.Format(Options.Epsilon)}, {Options.Steps} steps of {Budget.Format(Options.StepSize)}, crafted in eval mode)");
}
