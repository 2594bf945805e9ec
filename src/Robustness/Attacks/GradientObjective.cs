using Robustness.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Attacks;

/// <summary>
/// The cross-entropy objective the gradient attacks (FGSM, BIM, PGD, MI-FGSM, DI-FGSM) ascend, and their test of
/// success. Untargeted: raise the loss of the true label. Targeted: lower the loss of the target, written as
/// raising its negative, so every attack takes one ascent step whatever the mode.
/// </summary>
internal static class GradientObjective
{
    /// <summary>Per-image loss to ascend: CE(logits, labels), or -CE(logits, targets) when <paramref name="targets"/> is set.</summary>
    public static Func<Tensor, Tensor> CrossEntropy(Tensor labels, Tensor? targets) => targets is null
        ? logits => AttackMath.CrossEntropy(logits, labels)
        : logits => AttackMath.CrossEntropy(logits, targets).neg();

    /// <summary>Per-image success, bool [N]: misclassified (untargeted) or classified as the target (targeted).</summary>
    public static Tensor Succeeded(Tensor logits, Tensor labels, Tensor? targets) => targets is null
        ? logits.argmax(1).ne(labels)
        : logits.argmax(1).eq(targets);

    /// <summary>
    /// One projected step: x' = clamp(x + Project(adv + stepSize * direction - x), 0, 1). Clamping after the projection
    /// keeps the budget, since clamping to [0,1] only shrinks each pixel's change.
    /// </summary>
    public static Tensor Step(Tensor clean, Tensor adversarial, Tensor direction, double stepSize, Norm norm, double epsilon)
    {
        using var step = stepSize.ToScalar();
        return (clean + AttackMath.Project(adversarial + direction * step - clean, norm, epsilon)).clamp(Scalars.Zero, Scalars.One);
    }
}
