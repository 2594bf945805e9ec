using System.CommandLine;
using Robustness.Attacks;

namespace Robustness.Cli;

/// <summary>The attack knobs of the CLI (<c>--eps</c>, <c>--norm</c>, <c>--steps</c>, ...), parsed into <see cref="AttackSettings"/>.</summary>
public sealed class AttackOptionsCli
{
    /// <summary><c>--eps</c>: budget as 8/255, 0.0314, 8 (pixel levels) or 8px.</summary>
    public Option<string?> Epsilon { get; } = new("--eps") { Description = "Budget: 8/255, 0.0314, 8 (pixel levels) or 8px (default: 8/255 for linf, 0.5 for l2)." };

    /// <summary><c>--norm</c>.</summary>
    public Option<string> Norm { get; } = new("--norm") { Description = "Norm of the budget: linf, l2 or l1.", DefaultValueFactory = _ => "linf" };

    /// <summary><c>--steps</c>.</summary>
    public Option<int?> Steps { get; } = new("--steps") { Description = "Iterations (default: the attack's own)." };

    /// <summary><c>--step-size</c>.</summary>
    public Option<string?> StepSize { get; } = new("--step-size") { Description = "Step size, written like --eps (default: the attack's own)." };

    /// <summary><c>--restarts</c>.</summary>
    public Option<int?> Restarts { get; } = new("--restarts") { Description = "Random restarts (default: the attack's own)." };

    /// <summary><c>--search-steps</c>.</summary>
    public Option<int?> SearchSteps { get; } = new("--search-steps") { Description = "Binary-search steps over c of cw-l2 (default 9)." };

    /// <summary><c>--queries</c>.</summary>
    public Option<int?> Queries { get; } = new("--queries") { Description = "Query budget of black-box attacks (default: the attack's own)." };

    /// <summary><c>--targeted</c>.</summary>
    public Option<string> Targeted { get; } = new("--targeted") { Description = "Targeted mode: none, random, least-likely or a label number.", DefaultValueFactory = _ => "none" };

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public void AddTo(Command command, bool withAttackKnobs = true)
    {
        Norm.AcceptOnlyFromAmong("linf", "l2", "l1", "inf", "l-inf");
        command.Add(Epsilon);
        command.Add(Norm);
        if (!withAttackKnobs) return;
        command.Add(Steps);
        command.Add(StepSize);
        command.Add(Restarts);
        command.Add(SearchSteps);
        command.Add(Queries);
        command.Add(Targeted);
    }

    /// <summary>The settings; bad values are usage errors naming the option.</summary>
    public AttackSettings Read(ParseResult parse, int seed)
    {
        var norm = CommonOptions.Usage(() => Norms.Parse(parse.GetValue(Norm)!), Norm.Name);
        double? eps = parse.GetValue(Epsilon) is string e ? CommonOptions.Usage(() => Budget.Parse(e, Epsilon.Name), Epsilon.Name) : null;
        double? step = parse.GetValue(StepSize) is string s ? CommonOptions.Usage(() => Budget.Parse(s, StepSize.Name), StepSize.Name) : null;
        int? steps = parse.GetValue(Steps), restarts = parse.GetValue(Restarts), queries = parse.GetValue(Queries), searchSteps = parse.GetValue(SearchSteps);
        if (steps < 1) throw new UsageException($"--steps must be >= 1; got {steps}.");
        if (restarts < 1) throw new UsageException($"--restarts must be >= 1; got {restarts}.");
        if (queries < 1) throw new UsageException($"--queries must be >= 1; got {queries}.");
        if (searchSteps < 1) throw new UsageException($"--search-steps must be >= 1; got {searchSteps}.");
        var target = CommonOptions.Usage(() => TargetSelection.Parse(parse.GetValue(Targeted) ?? "none"), Targeted.Name);
        return new AttackSettings
        {
            Epsilon = eps, Norm = norm, Steps = steps, StepSize = step, Restarts = restarts, SearchSteps = searchSteps, Queries = queries,
            Target = target, Seed = seed,
        };
    }

    /// <summary>
    /// One warning line per option the user gave that <paramref name="definition"/> does not read (e.g. <c>--queries</c>
    /// for PGD), so an ignored knob is said rather than silently dropped.
    /// </summary>
    public void WarnIgnored(AttackDefinition definition, AttackSettings settings, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(error);
        foreach (string knob in definition.Ignored(settings))
            error.WriteLine($"warning: {definition.Name} does not read {OptionFor(knob)}; it is ignored.");
    }

    private string OptionFor(string knob) => knob switch
    {
        nameof(AttackSettings.Epsilon) => Epsilon.Name,
        nameof(AttackSettings.Steps) => Steps.Name,
        nameof(AttackSettings.StepSize) => StepSize.Name,
        nameof(AttackSettings.Restarts) => Restarts.Name,
        nameof(AttackSettings.SearchSteps) => SearchSteps.Name,
        nameof(AttackSettings.Queries) => Queries.Name,
        _ => knob,
    };
}
