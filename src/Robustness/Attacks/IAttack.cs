using static TorchSharp.torch;

namespace Robustness.Attacks;

/// <summary>
/// An evasion attack: given a classifier, images in [0,1] and their labels, returns adversarial images in [0,1].
/// An attack never changes the model's weights or its train/eval mode, works on any device and keeps memory flat.
/// </summary>
public interface IAttack
{
    /// <summary>Catalogue name, e.g. <c>pgd</c>, <c>apgd-ce</c>, <c>square</c>.</summary>
    string Name { get; }

    /// <summary>The validated options the attack runs with.</summary>
    AttackOptions Options { get; }

    /// <summary>True when the attack uses only the model's outputs (no gradients): Square, for instance.</summary>
    bool IsBlackBox { get; }

    /// <summary>The norm the attack works in.</summary>
    Norm Norm { get; }

    /// <summary>The budget, or null for a minimum-norm attack (CW, DeepFool, FAB without a bound).</summary>
    double? Epsilon { get; }

    /// <summary>
    /// Adversarial versions of <paramref name="images"/> (float32 [N, C, H, W] in [0,1]) for <paramref name="labels"/>
    /// (int64 [N]). The result has the input's shape, lies in [0,1], within the budget when there is one, and is on the
    /// classifier's device, in the caller's dispose scope.
    /// </summary>
    Tensor Run(Classifier classifier, Tensor images, Tensor labels, CancellationToken cancellationToken = default);
}
