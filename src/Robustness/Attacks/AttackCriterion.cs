using static TorchSharp.torch;

namespace Robustness.Attacks;

/// <summary>
/// What a gradient attack ascends and when it has succeeded (foolbox's criterion): a per-image loss of the logits,
/// and a per-image success test. The default, <see cref="Misclassification"/>, is the cross-entropy of the papers:
/// untargeted, raise the true label's loss and succeed on a wrong prediction; targeted, lower the target's loss
/// (raise its negative) and succeed on the target. Set <see cref="GradientAttackOptions.Criterion"/> to attack for
/// something else (a margin, a confidence drop, a detector's score).
/// </summary>
public abstract class AttackCriterion
{
    /// <summary>Cross-entropy and (targeted) misclassification: the default of FGSM, R-FGSM, BIM, PGD, MI-FGSM and DI-FGSM.</summary>
    public static AttackCriterion Misclassification { get; } = new CrossEntropyCriterion();

    /// <summary>
    /// The logit margin (Carlini and Wagner's f6 without confidence): untargeted, max_{i != y} z_i - z_y; targeted,
    /// z_t - max_{i != t} z_i. Success as for <see cref="Misclassification"/>. Unlike the cross-entropy it does not
    /// saturate on confidently classified images.
    /// </summary>
    public static AttackCriterion Margin { get; } = new MarginCriterion();

    /// <summary>A criterion from a loss (logits, labels, targets or null) and an optional success test (default: misclassification).</summary>
    public static AttackCriterion Create(string name, Func<Tensor, Tensor, Tensor?, Tensor> loss, Func<Tensor, Tensor, Tensor?, Tensor>? succeeded = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(loss);
        return new DelegateCriterion(name, loss, succeeded);
    }

    /// <summary>The criterion's name in reports.</summary>
    public abstract string Name { get; }

    /// <summary>Per-image loss to ascend, [N], from logits [N, C], labels [N] and targets [N] (null when untargeted).</summary>
    public abstract Tensor Loss(Tensor logits, Tensor labels, Tensor? targets);

    /// <summary>Per-image success, bool [N]: misclassified (untargeted) or classified as the target (targeted), by default.</summary>
    public virtual Tensor Succeeded(Tensor logits, Tensor labels, Tensor? targets) => targets is null
        ? logits.argmax(1).ne(labels)
        : logits.argmax(1).eq(targets);

    /// <summary>The loss as the engine's per-image function of the logits.</summary>
    public Func<Tensor, Tensor> LossOf(Tensor labels, Tensor? targets) => logits => Loss(logits, labels, targets);

    /// <inheritdoc />
    public override string ToString() => Name;

    private sealed class CrossEntropyCriterion : AttackCriterion
    {
        public override string Name => "misclassification (cross-entropy)";

        public override Tensor Loss(Tensor logits, Tensor labels, Tensor? targets) => targets is null
            ? AttackMath.CrossEntropy(logits, labels)
            : AttackMath.CrossEntropy(logits, targets).neg();
    }

    private sealed class MarginCriterion : AttackCriterion
    {
        public override string Name => "misclassification (logit margin)";

        public override Tensor Loss(Tensor logits, Tensor labels, Tensor? targets) => targets is null
            ? AttackMath.Margin(logits, labels).neg()
            : AttackMath.Margin(logits, targets);
    }

    private sealed class DelegateCriterion(string name, Func<Tensor, Tensor, Tensor?, Tensor> loss, Func<Tensor, Tensor, Tensor?, Tensor>? succeeded)
        : AttackCriterion
    {
        public override string Name => name;

        public override Tensor Loss(Tensor logits, Tensor labels, Tensor? targets) => loss(logits, labels, targets);

        public override Tensor Succeeded(Tensor logits, Tensor labels, Tensor? targets) =>
            succeeded is null ? base.Succeeded(logits, labels, targets) : succeeded(logits, labels, targets);
    }
}
