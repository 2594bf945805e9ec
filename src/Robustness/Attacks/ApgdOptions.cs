using Robustness.Validation;
namespace Robustness.Attacks;

/// <summary>
/// What every Auto-PGD variant shares (Croce and Hein, 2020, "Reliable evaluation of adversarial robustness with an
/// ensemble of diverse parameter-free attacks", ICML). Defaults are the paper's and AutoAttack's standard version:
/// 100 iterations, 1 restart, rho = 0.75, momentum 0.75, random start; the initial step size is 2 * epsilon (fixed
/// by the method, not an option). Supports the l-inf and l2 norms.
/// </summary>
public abstract record ApgdOptions : BoundedAttackOptions
{
    /// <summary>Iterations per run (N_iter in the paper); the step-size checkpoints scale with it. Default 100.</summary>
    public int Steps { get; init; } = 100;

    /// <summary>Runs from fresh random starts, each on the images not yet fooled. Default 1 (AutoAttack standard).</summary>
    public int Restarts { get; init; } = 1;

    /// <summary>
    /// The step size is halved at a checkpoint when fewer than <c>Rho</c> of the steps since the previous
    /// checkpoint increased the loss. Default 0.75; in (0, 1].
    /// </summary>
    public double Rho { get; init; } = 0.75;

    /// <summary>Weight alpha of the new gradient step against the previous move (the rest is momentum). Default 0.75; in (0, 1].</summary>
    public double Momentum { get; init; } = 0.75;

    /// <summary>Start from a random point on the budget's boundary (as the reference implementation does); else from the clean image.</summary>
    public bool RandomStart { get; init; } = true;

    /// <summary>
    /// These options with the catalogue's <paramref name="settings"/> applied (budget, norm, seed; steps and restarts
    /// where set). The target rule is applied only when <paramref name="withTarget"/> is set (APGD-T picks its own).
    /// </summary>
    public ApgdOptions WithSettings(AttackSettings settings, bool withTarget = true)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return this with
        {
            Epsilon = settings.EpsilonOrDefault,
            Norm = settings.Norm,
            Steps = settings.Steps ?? Steps,
            Restarts = settings.Restarts ?? Restarts,
            Target = withTarget ? settings.Target : Target,
            Seed = settings.Seed,
        };
    }

    /// <inheritdoc />
    public override ApgdOptions Validate()
    {
        base.Validate();
        if (Norm == Norm.L1) throw new ArgumentOutOfRangeException(nameof(Norm), Norm, "Auto-PGD here supports the Linf and L2 norms.");
        Require.AtLeast(Steps, 1, nameof(Steps));
        Require.AtLeast(Restarts, 1, nameof(Restarts));
        if (!(Rho > 0 && Rho <= 1)) throw new ArgumentOutOfRangeException(nameof(Rho), Rho, "Rho must be a number in (0, 1].");
        if (!(Momentum > 0 && Momentum <= 1)) throw new ArgumentOutOfRangeException(nameof(Momentum), Momentum, "Momentum must be a number in (0, 1].");
        return this;
    }
}
