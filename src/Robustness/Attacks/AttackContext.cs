using static TorchSharp.torch;

namespace Robustness.Attacks;

/// <summary>What <see cref="Attack{TOptions}.Perturb"/> works on: inputs on the model's device, targets, randomness.</summary>
/// <param name="Classifier">The model, in the options' <see cref="AttackOptions.Mode"/> (eval by default) for the duration of the attack.</param>
/// <param name="Images">Clean images, float32 [N, C, H, W] in [0,1], detached, on the classifier's device.</param>
/// <param name="Labels">True labels, int64 [N], on the classifier's device.</param>
/// <param name="Targets">Target labels when the attack is targeted, else null.</param>
/// <param name="Generator">The attack's seeded CPU generator: draw on the CPU, then move to the device.</param>
/// <param name="CancellationToken">Checked between steps.</param>
public sealed record AttackContext(
    Classifier Classifier,
    Tensor Images,
    Tensor Labels,
    Tensor? Targets,
    Generator Generator,
    CancellationToken CancellationToken)
{
    /// <summary>Number of images.</summary>
    public long Count => Images.shape[0];

    /// <summary>True when <see cref="Targets"/> is set.</summary>
    public bool Targeted => Targets is not null;

    /// <summary>The device everything lives on.</summary>
    public Device Device => Classifier.Device;

    /// <summary>The loss the attack ascends and its success test (<see cref="GradientAttackOptions.Criterion"/>; cross-entropy by default).</summary>
    public AttackCriterion Criterion { get; init; } = AttackCriterion.Misclassification;
}
