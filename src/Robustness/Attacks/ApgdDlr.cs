using static TorchSharp.torch;

namespace Robustness.Attacks;

/// <summary>
/// Options of <see cref="ApgdDlr"/>. Defaults: AutoAttack's APGD-DLR (Croce and Hein, 2020): 100 iterations,
/// 1 restart, eps 8/255 in l-inf.
/// </summary>
public sealed record ApgdDlrOptions : ApgdOptions;

/// <summary>
/// APGD-DLR: Auto-PGD maximising the difference-of-logits-ratio loss (Croce and Hein, 2020), which is invariant to
/// shifts and scalings of the logits and so is not fooled by gradient masking through logit rescaling. Untargeted it
/// needs at least 3 classes (the loss uses the third largest logit); targeted (the targeted DLR loss) at least 4.
/// </summary>
public sealed class ApgdDlr : Apgd<ApgdDlrOptions>
{
    /// <summary>Creates the attack; the options are validated.</summary>
    public ApgdDlr(ApgdDlrOptions? options = null) : base("apgd-dlr", options ?? new ApgdDlrOptions()) { }

    /// <summary>The catalogue entry: l-inf and l2, targeted modes; reads Epsilon, Norm, Steps, Restarts, Target, Seed.</summary>
    public static AttackDefinition Definition { get; } = new(
        "apgd-dlr",
        "Auto-PGD with the DLR loss, step size free (Croce and Hein, ICML 2020)",
        [Norm.Linf, Norm.L2],
        IsBlackBox: false,
        IsMinimumNorm: false,
        SupportsTargets: true,
        settings => new ApgdDlr((ApgdDlrOptions)new ApgdDlrOptions().WithSettings(settings)))
    {
        Reads = [nameof(AttackSettings.Epsilon), nameof(AttackSettings.Norm), nameof(AttackSettings.Steps), nameof(AttackSettings.Restarts), nameof(AttackSettings.Target), nameof(AttackSettings.Seed)],
    };

    /// <inheritdoc />
    protected override void CheckClassifier(Classifier classifier, bool targeted) =>
        RequireClasses(classifier, targeted ? 4 : 3, targeted ? "targeted DLR" : "DLR");

    /// <inheritdoc />
    protected override Tensor Loss(Tensor logits, Tensor labels, Tensor? targets) =>
        targets is null ? AttackMath.Dlr(logits, labels) : AttackMath.TargetedDlr(logits, labels, targets);
}
