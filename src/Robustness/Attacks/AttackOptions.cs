using Robustness.Validation;
namespace Robustness.Attacks;

/// <summary>
/// What every attack's options carry: a seed and a target rule. Each attack has its own options record deriving
/// from this (or from <see cref="BoundedAttackOptions"/>), with the paper's defaults, and validates itself.
/// </summary>
public abstract record AttackOptions
{
    /// <summary>Seed for every random draw of the attack (random start, restarts, target choice, Square's proposals).</summary>
    public int Seed { get; init; }

    /// <summary>Untargeted (default) or the rule choosing each image's target label.</summary>
    public TargetSelection Target { get; init; } = TargetSelection.None;

    /// <summary>
    /// The model's mode while the attack runs: evaluation (default; batch norm's running statistics, as every
    /// robustness evaluation uses), training (torchattacks' <c>set_model_training_mode(True)</c>), or unchanged. The
    /// mode the attack found is restored afterwards.
    /// </summary>
    public ModelMode Mode { get; init; } = ModelMode.Eval;

    /// <summary>
    /// Throws <see cref="ArgumentOutOfRangeException"/> naming the first option out of range (negative, NaN or
    /// infinite budgets, steps &lt; 1, ...) and returns these options, as every options record of the library does
    /// (derived records override it with their own type, call the base and add their own checks).
    /// </summary>
    public virtual AttackOptions Validate()
    {
        Require.AtLeast(Seed, 0, nameof(Seed));
        ArgumentNullException.ThrowIfNull(Target, nameof(Target));
        if (!Enum.IsDefined(Mode)) throw new ArgumentOutOfRangeException(nameof(Mode), Mode, "Mode must be Eval, Train or Unchanged.");
        return this;
    }
}

/// <summary>Options of an attack bounded by a budget: the perturbation satisfies ||x' - x||_Norm &lt;= Epsilon.</summary>
public abstract record BoundedAttackOptions : AttackOptions
{
    /// <summary>The budget on the [0,1] image scale (8/255 by default for l-inf). Parse user text with <see cref="Budget.Parse"/>.</summary>
    public double Epsilon { get; init; } = 8.0 / 255.0;

    /// <summary>The norm the budget is measured in.</summary>
    public Norm Norm { get; init; } = Norm.Linf;

    /// <inheritdoc />
    public override BoundedAttackOptions Validate()
    {
        base.Validate();
        Budget.Check(Epsilon, nameof(Epsilon));
        if (!Enum.IsDefined(Norm)) throw new ArgumentOutOfRangeException(nameof(Norm), Norm, "Norm must be Linf, L2 or L1.");
        return this;
    }
}

/// <summary>
/// Options of the gradient attacks built on a loss of the logits (FGSM, R-FGSM, BIM, PGD, MI-FGSM, DI-FGSM): the
/// budget, and the <see cref="Criterion"/> they ascend and test success with.
/// </summary>
public abstract record GradientAttackOptions : BoundedAttackOptions
{
    /// <summary>The loss ascended and the success test; <see cref="AttackCriterion.Misclassification"/> (cross-entropy) by default.</summary>
    public AttackCriterion Criterion { get; init; } = AttackCriterion.Misclassification;

    /// <inheritdoc />
    public override GradientAttackOptions Validate()
    {
        base.Validate();
        ArgumentNullException.ThrowIfNull(Criterion, nameof(Criterion));
        return this;
    }
}
