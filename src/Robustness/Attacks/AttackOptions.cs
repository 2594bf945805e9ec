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
    /// Throws <see cref="ArgumentOutOfRangeException"/> naming the first option out of range (negative, NaN or
    /// infinite budgets, steps &lt; 1, ...). Derived records call the base and add their own checks.
    /// </summary>
    public virtual void Validate()
    {
        if (Seed < 0) throw new ArgumentOutOfRangeException(nameof(Seed), Seed, "Seed must be >= 0.");
        ArgumentNullException.ThrowIfNull(Target, nameof(Target));
    }

    /// <summary>Checks a positive whole-number option.</summary>
    protected static void AtLeast(int value, int min, string name)
    {
        if (value < min) throw new ArgumentOutOfRangeException(name, value, $"{name} must be >= {min}.");
    }

    /// <summary>Checks a finite number option in [min, max] (either end may be open by passing infinity).</summary>
    protected static void InRange(double value, double min, double max, string name)
    {
        if (double.IsNaN(value) || double.IsInfinity(value) || value < min || value > max)
            throw new ArgumentOutOfRangeException(name, value,
                double.IsPositiveInfinity(max) ? $"{name} must be a finite number >= {min}." : $"{name} must be a finite number in [{min}, {max}].");
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
    public override void Validate()
    {
        base.Validate();
        Budget.Check(Epsilon, nameof(Epsilon));
        if (!Enum.IsDefined(Norm)) throw new ArgumentOutOfRangeException(nameof(Norm), Norm, "Norm must be Linf, L2 or L1.");
    }
}
