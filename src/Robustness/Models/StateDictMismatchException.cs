using System.Globalization;
using System.Text;

namespace Robustness.Models;

/// <summary>
/// A state dict that does not fit a network (an <see cref="IOException"/>: the file is readable, its content is wrong): every missing name, every unexpected name and every tensor whose shape
/// differs, all listed, so that one attempt shows everything wrong (a wrong width, a missing head, another naming).
/// </summary>
public sealed class StateDictMismatchException : IOException
{
    /// <summary>How many names of each kind the message lists before "and N more".</summary>
    public const int ListedPerKind = 12;

    /// <summary>Creates the exception for weights from <paramref name="source"/> loaded into <paramref name="target"/>.</summary>
    public StateDictMismatchException(string source, string target, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected,
        IReadOnlyList<ShapeMismatch> misShaped)
        : base(Describe(source, target, missing, unexpected, misShaped))
    {
        Missing = missing;
        Unexpected = unexpected;
        MisShaped = misShaped;
    }

    /// <summary>Names the network has and the file lacks.</summary>
    public IReadOnlyList<string> Missing { get; }

    /// <summary>Names the file has and the network lacks.</summary>
    public IReadOnlyList<string> Unexpected { get; }

    /// <summary>Names both have, with different shapes.</summary>
    public IReadOnlyList<ShapeMismatch> MisShaped { get; }

    private static string Describe(string source, string target, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected,
        IReadOnlyList<ShapeMismatch> misShaped)
    {
        var text = new StringBuilder().Append(CultureInfo.InvariantCulture, $"'{source}' does not fit {target}:");
        Append(text, "missing", missing);
        Append(text, "unexpected", unexpected);
        Append(text, "mis-shaped", misShaped.Select(m => m.ToString()).ToArray());
        return text.ToString();
    }

    private static void Append(StringBuilder text, string kind, IReadOnlyList<string> names)
    {
        if (names.Count == 0) return;
        text.Append(CultureInfo.InvariantCulture, $" {names.Count} {kind} [{string.Join(", ", names.Take(ListedPerKind))}");
        if (names.Count > ListedPerKind) text.Append(CultureInfo.InvariantCulture, $", and {names.Count - ListedPerKind} more");
        text.Append("];");
    }
}

/// <summary>A tensor whose shape in the file differs from the network's.</summary>
public sealed record ShapeMismatch(string Name, IReadOnlyList<long> InFile, IReadOnlyList<long> Expected)
{
    /// <inheritdoc />
    public override string ToString() => $"{Name}: file [{string.Join(", ", InFile)}], network [{string.Join(", ", Expected)}]";
}
