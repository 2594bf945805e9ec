namespace Robustness.Attacks;

/// <summary>
/// The knobs people set on any attack from a command line or a benchmark table. Null means "the attack's own
/// default" (the paper's). Each knob means one thing; an attack binds the knobs it has to its own options by name and
/// lists them in <see cref="AttackDefinition.Reads"/>, so a knob it does not read can be reported rather than silently
/// dropped (<see cref="AttackDefinition.Ignored"/>).
/// </summary>
public sealed record AttackSettings
{
    /// <summary>Budget on the [0,1] scale; null = the attack's default (8/255 for l-inf, 0.5 for l2).</summary>
    public double? Epsilon { get; init; }

    /// <summary>Norm of the budget.</summary>
    public Norm Norm { get; init; } = Norm.Linf;

    /// <summary>Iterations of the attack's main loop (gradient steps; DeepFool's iteration cap); null = default.</summary>
    public int? Steps { get; init; }

    /// <summary>Step size on the [0,1] scale; null = default (usually relative to the budget).</summary>
    public double? StepSize { get; init; }

    /// <summary>Runs from a new random start on the images not fooled yet (PGD, APGD, FAB-T); null = default.</summary>
    public int? Restarts { get; init; }

    /// <summary>Binary-search steps over the trade-off constant c (Carlini-Wagner); null = default (9).</summary>
    public int? SearchSteps { get; init; }

    /// <summary>Query budget of black-box attacks; null = default.</summary>
    public int? Queries { get; init; }

    /// <summary>Untargeted, or the target rule.</summary>
    public TargetSelection Target { get; init; } = TargetSelection.None;

    /// <summary>Seed of the attack's randomness.</summary>
    public int Seed { get; init; }

    /// <summary>The default budget of a norm: 8/255 (l-inf), 0.5 (l2), 12 (l1), the values of RobustBench and APGD.</summary>
    public static double DefaultEpsilon(Norm norm) => norm switch { Norm.Linf => 8.0 / 255.0, Norm.L2 => 0.5, _ => 12.0 };

    /// <summary><see cref="Epsilon"/> or the norm's default.</summary>
    public double EpsilonOrDefault => Epsilon ?? DefaultEpsilon(Norm);

    /// <summary>
    /// The optional knobs given a value (Epsilon, Steps, StepSize, Restarts, SearchSteps, Queries), by property name.
    /// Norm and Target are not listed: <see cref="AttackDefinition.Build"/> checks them against what the attack supports.
    /// </summary>
    public IReadOnlyList<string> GivenKnobs()
    {
        var given = new List<string>();
        if (Epsilon is not null) given.Add(nameof(Epsilon));
        if (Steps is not null) given.Add(nameof(Steps));
        if (StepSize is not null) given.Add(nameof(StepSize));
        if (Restarts is not null) given.Add(nameof(Restarts));
        if (SearchSteps is not null) given.Add(nameof(SearchSteps));
        if (Queries is not null) given.Add(nameof(Queries));
        return given;
    }
}

/// <summary>
/// One attack as the catalogue knows it: name, description, what it supports, and how to build it from
/// <see cref="AttackSettings"/>. Registered by <c>AddAttacks()</c>; the CLI and benchmarks look attacks up by name.
/// </summary>
/// <param name="Name">Catalogue name, e.g. <c>pgd</c>.</param>
/// <param name="Description">One line, with the paper.</param>
/// <param name="Norms">Norms the attack supports.</param>
/// <param name="IsBlackBox">Uses only model outputs.</param>
/// <param name="IsMinimumNorm">Searches for the smallest perturbation instead of staying within a budget.</param>
/// <param name="SupportsTargets">Accepts a <see cref="TargetSelection"/> other than none.</param>
/// <param name="Create">Builds the attack; raises <see cref="ArgumentOutOfRangeException"/> for settings it cannot honour.</param>
public sealed record AttackDefinition(
    string Name,
    string Description,
    IReadOnlyList<Norm> Norms,
    bool IsBlackBox,
    bool IsMinimumNorm,
    bool SupportsTargets,
    Func<AttackSettings, IAttack> Create)
{
    /// <summary>
    /// The <see cref="AttackSettings"/> knobs the attack binds to its options, by property name (e.g. <c>Steps</c>,
    /// <c>SearchSteps</c>); the others do not change it. Empty = not declared (nothing is reported as ignored).
    /// </summary>
    public IReadOnlyList<string> Reads { get; init; } = [];

    /// <summary>The knobs <paramref name="settings"/> gives that this attack does not read (to warn about), by property name.</summary>
    public IReadOnlyList<string> Ignored(AttackSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return Reads.Count == 0 ? [] : settings.GivenKnobs().Except(Reads, StringComparer.Ordinal).ToArray();
    }

    /// <summary>Builds the attack after checking the norm and the target rule against what it supports.</summary>
    public IAttack Build(AttackSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (!Norms.Contains(settings.Norm))
            throw new ArgumentOutOfRangeException(nameof(settings), settings.Norm, $"{Name} supports {string.Join(", ", Norms.Select(n => n.Name()))}, not {settings.Norm.Name()}.");
        if (settings.Target.IsTargeted && !SupportsTargets)
            throw new ArgumentOutOfRangeException(nameof(settings), settings.Target, $"{Name} has no targeted mode.");
        return Create(settings);
    }
}
