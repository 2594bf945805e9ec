using Robustness.Validation;
namespace Robustness.Attacks.Evaluation;

/// <summary>
/// How an <see cref="AutoAttackEvaluator"/> runs: the threat model (norm and budget), the batch size, the seed, an
/// optional resumable state file, and the thresholds of its warnings. Defaults follow AutoAttack's standard
/// l-inf evaluation (Croce and Hein, 2020): eps 8/255.
/// </summary>
public sealed record AutoAttackOptions
{
    /// <summary>The norm of the threat model; every attack must work in it.</summary>
    public Norm Norm { get; init; } = Norm.Linf;

    /// <summary>The budget on the [0,1] scale: an adversarial counts only when ||x' - x|| &lt;= Epsilon + <see cref="Tolerance"/>.</summary>
    public double Epsilon { get; init; } = 8.0 / 255.0;

    /// <summary>Slack added to <see cref="Epsilon"/> when checking a result (float32 rounding), 1e-6 by default as in AutoAttack's check.</summary>
    public double Tolerance { get; init; } = Budget.Tolerance;

    /// <summary>Images per attack call (>= 1). Part of the state file's settings: batches fix each attack's random draws.</summary>
    public int BatchSize { get; init; } = 250;

    /// <summary>
    /// The seed of the run (>= 0): seeds torch's global generator at the start and is handed to the attacks by
    /// <see cref="AutoAttackEvaluator.Standard"/>. Attacks draw from their own seeded generators.
    /// </summary>
    public int Seed { get; init; }

    /// <summary>
    /// A JSON file that records progress after every batch of every attack (written atomically). When it exists
    /// and its settings match, the run continues where it stopped; when they differ the run refuses to start.
    /// Null: no state file.
    /// </summary>
    public string? StatePath { get; init; }

    /// <summary>
    /// A black-box attack that breaks more than this fraction (in [0,1]) of the points it runs on, all of which
    /// the white-box attacks before it failed on, raises a gradient-masking warning. 1% by default.
    /// </summary>
    public double BlackBoxWarningFraction { get; init; } = 0.01;

    /// <summary>
    /// The zero-gradient warning fires when more than this fraction (in [0,1]) of the points have an input
    /// gradient of the cross-entropy that is exactly zero. 0 by default: any such point warns, as in AutoAttack.
    /// </summary>
    public double ZeroGradientWarningFraction { get; init; }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first option out of range; returns this.</summary>
    public AutoAttackOptions Validate()
    {
        if (!Enum.IsDefined(Norm)) throw new ArgumentOutOfRangeException(nameof(Norm), Norm, "Norm must be Linf, L2 or L1.");
        Budget.Check(Epsilon, nameof(Epsilon));
        if (double.IsNaN(Tolerance) || double.IsInfinity(Tolerance) || Tolerance < 0)
            throw new ArgumentOutOfRangeException(nameof(Tolerance), Tolerance, "Tolerance must be a finite number >= 0.");
        Require.BatchSize(BatchSize, nameof(BatchSize));
        Require.AtLeast(Seed, 0, nameof(Seed));
        if (StatePath is not null && string.IsNullOrWhiteSpace(StatePath))
            throw new ArgumentOutOfRangeException(nameof(StatePath), StatePath, "StatePath must be a file path or null.");
        if (!(BlackBoxWarningFraction >= 0 && BlackBoxWarningFraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(BlackBoxWarningFraction), BlackBoxWarningFraction, "BlackBoxWarningFraction must be in [0, 1].");
        if (!(ZeroGradientWarningFraction >= 0 && ZeroGradientWarningFraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(ZeroGradientWarningFraction), ZeroGradientWarningFraction, "ZeroGradientWarningFraction must be in [0, 1].");
        return this;
    }
}
