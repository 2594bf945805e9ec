using Robustness.Validation;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Attacks;

/// <summary>
/// Options of <see cref="ApgdT"/>. Defaults: AutoAttack's standard APGD-T (Croce and Hein, 2020): 100 iterations,
/// 9 target classes, 1 restart per target, eps 8/255 in l-inf.
/// </summary>
public sealed record ApgdTOptions : ApgdOptions
{
    /// <summary>
    /// How many target classes to try, the most likely wrong ones first. Default 9 (all of CIFAR-10's wrong
    /// classes); capped at classes - 1 when the attack runs, so a smaller model never gets a target out of range.
    /// </summary>
    public int TargetClasses { get; init; } = 9;

    /// <inheritdoc />
    public override ApgdTOptions Validate()
    {
        base.Validate();
        Require.AtLeast(TargetClasses, 1, nameof(TargetClasses));
        if (Target.IsTargeted)
            throw new ArgumentOutOfRangeException(nameof(Target), Target, "APGD-T chooses its own targets (the top TargetClasses wrong classes); Target must be none. Use apgd-ce or apgd-dlr for a targeted attack.");
        return this;
    }
}

/// <summary>
/// APGD-T: Auto-PGD with the targeted DLR loss (Croce and Hein, 2020), AutoAttack's second attack. It is an
/// untargeted attack (success = misclassified) that tries, one after the other, the targets ranked 2nd, 3rd, ...
/// by the clean logits, each on the images no earlier target fooled. At most classes - 1 targets are tried
/// (<see cref="TargetCount"/>), whatever <see cref="ApgdTOptions.TargetClasses"/> says; needs at least 4 classes.
/// </summary>
public sealed class ApgdT : Apgd<ApgdTOptions>
{
    /// <summary>Creates the attack; the options are validated.</summary>
    public ApgdT(ApgdTOptions? options = null) : base("apgd-t", options ?? new ApgdTOptions()) { }

    /// <summary>The catalogue entry: l-inf and l2, no targeted mode (it picks its targets); reads Epsilon, Norm, Steps, Restarts, Seed.</summary>
    public static AttackDefinition Definition { get; } = new(
        "apgd-t",
        "Auto-PGD with the targeted DLR loss over the top 9 wrong classes (Croce and Hein, ICML 2020)",
        [Norm.Linf, Norm.L2],
        IsBlackBox: false,
        IsMinimumNorm: false,
        SupportsTargets: false,
        settings => new ApgdT((ApgdTOptions)new ApgdTOptions().WithSettings(settings, withTarget: false)))
    {
        Reads = [nameof(AttackSettings.Epsilon), nameof(AttackSettings.Norm), nameof(AttackSettings.Steps), nameof(AttackSettings.Restarts), nameof(AttackSettings.Seed)],
    };

    /// <summary>The number of target classes tried on a classifier with <paramref name="classes"/> classes: min(TargetClasses, classes - 1).</summary>
    public int TargetCount(int classes) => Math.Max(0, Math.Min(Options.TargetClasses, classes - 1));

    /// <inheritdoc />
    protected override void CheckClassifier(Classifier classifier, bool targeted) => RequireClasses(classifier, 4, "targeted DLR");

    /// <inheritdoc />
    protected override Tensor Loss(Tensor logits, Tensor labels, Tensor? targets) =>
        AttackMath.TargetedDlr(logits, labels, targets ?? throw new InvalidOperationException("APGD-T runs with targets."));

    /// <summary>Success is misclassification, whatever target the loss pursues.</summary>
    protected override Tensor Reached(Tensor logits, Tensor labels, Tensor? targets) => logits.argmax(1).ne(labels);

    /// <summary>One pass per target: the class ranked k + 1 by the clean logits, for k = 1 .. <see cref="TargetCount"/>.</summary>
    protected override IEnumerable<Tensor?> Passes(Tensor cleanLogits, AttackContext context)
    {
        ArgumentNullException.ThrowIfNull(cleanLogits);
        ArgumentNullException.ThrowIfNull(context);
        var ranked = cleanLogits.argsort(1, descending: true);
        int count = TargetCount(context.Classifier.Classes);
        for (int k = 1; k <= count; k++)
            yield return ranked.select(1, k);
    }
}
