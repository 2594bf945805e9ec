using static TorchSharp.torch;

namespace Robustness.Attacks;

/// <summary>
/// Options of <see cref="ApgdCe"/>. Defaults: AutoAttack's standard APGD-CE (Croce and Hein, 2020): 100 iterations,
/// 1 restart, eps 8/255 in l-inf.
/// </summary>
public sealed record ApgdCeOptions : ApgdOptions;

/// <summary>
/// APGD-CE: Auto-PGD maximising the cross-entropy (Croce and Hein, 2020), the first attack of AutoAttack. Targeted
/// mode minimises the cross-entropy of the target label instead and succeeds when the model predicts the target.
/// </summary>
public sealed class ApgdCe : Apgd<ApgdCeOptions>
{
    /// <summary>Creates the attack; the options are validated.</summary>
    public ApgdCe(ApgdCeOptions? options = null) : base("apgd-ce", options ?? new ApgdCeOptions()) { }

    /// <summary>The catalogue entry: l-inf and l2, targeted modes; reads Epsilon, Norm, Steps, Restarts, Target, Seed.</summary>
    public static AttackDefinition Definition { get; } = new(
        "apgd-ce",
        "Auto-PGD with the cross-entropy loss, step size free (Croce and Hein, ICML 2020)",
        [Norm.Linf, Norm.L2],
        IsBlackBox: false,
        IsMinimumNorm: false,
        SupportsTargets: true,
        settings => new ApgdCe((ApgdCeOptions)new ApgdCeOptions().WithSettings(settings)))
    {
        Reads = [nameof(AttackSettings.Epsilon), nameof(AttackSettings.Norm), nameof(AttackSettings.Steps), nameof(AttackSettings.Restarts), nameof(AttackSettings.Target), nameof(AttackSettings.Seed)],
    };

    /// <inheritdoc />
    protected override Tensor Loss(Tensor logits, Tensor labels, Tensor? targets) =>
        targets is null ? AttackMath.CrossEntropy(logits, labels) : AttackMath.CrossEntropy(logits, targets).neg();
}
