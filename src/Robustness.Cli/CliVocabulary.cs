using System.CommandLine;

namespace Robustness.Cli;

/// <summary>
/// One option vocabulary for every command, the modules' included: applied once to the finished command tree, so a
/// command written with an older or a module's own spelling still answers to the common one. Each row lists the
/// spellings of one meaning; an option named by any of them gets the others (and the short form) as aliases, unless
/// its command already uses that spelling for something else.
/// </summary>
public static class CliVocabulary
{
    /// <summary>The spellings of each meaning, the preferred one first; README's table shows the same rows.</summary>
    public static IReadOnlyList<Term> Terms { get; } =
    [
        new("images read (a class-folder tree or one folder)", "--input", "-i", ["--data"]),
        new("what the command writes (a file or a folder, as its help says)", "--output", "-o", ["--out"]),
        new("a model file", "--model", "-m", []),
        new("which technique (attack, protector, pruner)", "--method", null, ["--attack"]),
        new("iterations of the technique's own loop (train: the inner attack's)", "--steps", null, ["--iterations", "--adv-steps"]),
    ];

    /// <summary>Adds the vocabulary's aliases to every option of <paramref name="command"/> and its subcommands.</summary>
    public static void Apply(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        var taken = command.Options.SelectMany(o => o.Aliases.Append(o.Name)).ToHashSet(StringComparer.Ordinal);
        foreach (var option in command.Options)
        {
            var term = Terms.FirstOrDefault(t => t.Spellings.Contains(option.Name, StringComparer.Ordinal));
            if (term is null) continue;
            // A command with two options of one meaning (protect's --iterations and --steps) keeps them apart.
            if (command.Options.Count(o => term.Spellings.Contains(o.Name, StringComparer.Ordinal)) > 1) continue;
            foreach (string alias in term.Spellings.Append(term.Short).OfType<string>())
                if (taken.Add(alias)) option.Aliases.Add(alias);
        }
        foreach (var sub in command.Subcommands) Apply(sub);
    }

    /// <summary>One meaning: its preferred spelling, its short form (if any) and the other spellings accepted.</summary>
    public sealed record Term(string Meaning, string Preferred, string? Short, IReadOnlyList<string> Others)
    {
        /// <summary>Every long spelling, the preferred first.</summary>
        public IReadOnlyList<string> Spellings => [Preferred, .. Others];
    }
}
