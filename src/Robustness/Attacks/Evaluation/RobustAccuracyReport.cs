using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Robustness.Attacks.Evaluation;

/// <summary>How one attack at one budget did over a whole collection.</summary>
/// <param name="Attack">The attack's name, e.g. <c>pgd</c>.</param>
/// <param name="Description">The attack with its options, as it describes itself.</param>
/// <param name="Norm">The norm the attack works in.</param>
/// <param name="Epsilon">The budget, or null for a minimum-norm attack.</param>
/// <param name="Attacked">Images it ran on: those classified correctly without attack.</param>
/// <param name="Broken">Of those, images whose adversarial is misclassified, in [0,1] and within the budget.</param>
/// <param name="RobustAccuracy">Images still classified correctly after the attack, over all images.</param>
/// <param name="SuccessRate">Broken / Attacked (0 when nothing was attacked).</param>
/// <param name="MeanPerturbation">Mean ||x' - x|| in <paramref name="Norm"/> over the attacked images (NaN images left out).</param>
/// <param name="MaxPerturbation">Largest ||x' - x|| over the attacked images.</param>
/// <param name="Seconds">Time spent in the attack.</param>
public sealed record RobustAccuracyEntry(
    string Attack,
    string Description,
    Norm Norm,
    double? Epsilon,
    int Attacked,
    int Broken,
    double RobustAccuracy,
    double SuccessRate,
    double MeanPerturbation,
    double MaxPerturbation,
    double Seconds);

/// <summary>
/// Clean accuracy and, for each attack and budget, robust accuracy, success rate and perturbation sizes, from one
/// <see cref="RobustnessEvaluation"/> call. Serialises to JSON (<see cref="ToJson"/>, <see cref="FromJson"/>) and to
/// a Markdown table (<see cref="ToMarkdown"/>).
/// </summary>
public sealed record RobustAccuracyReport
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>Images evaluated.</summary>
    public required int Images { get; init; }

    /// <summary>Images classified correctly without attack.</summary>
    public required int CleanCorrect { get; init; }

    /// <summary>One entry per attack (and budget), in the order given.</summary>
    public required IReadOnlyList<RobustAccuracyEntry> Entries { get; init; }

    /// <summary>Time spent reading images and classifying them clean.</summary>
    public required double CleanSeconds { get; init; }

    /// <summary>CleanCorrect / Images.</summary>
    public double CleanAccuracy => Images == 0 ? 0 : (double)CleanCorrect / Images;

    /// <summary>The report as indented JSON (camelCase, norms as names).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Reads a report written by <see cref="ToJson"/>; raises <see cref="InvalidDataException"/> for anything else.</summary>
    public static RobustAccuracyReport FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            return JsonSerializer.Deserialize<RobustAccuracyReport>(json, JsonOptions)
                ?? throw new InvalidDataException("The robust accuracy report JSON is null.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Not a valid robust accuracy report: {e.Message}", e);
        }
    }

    /// <summary>The report as Markdown: clean accuracy, then a table with a row per attack and budget.</summary>
    public string ToMarkdown()
    {
        var c = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine("# Robust accuracy");
        md.AppendLine();
        md.AppendLine(c, $"Clean accuracy: {AutoAttackReport.Percent(CleanAccuracy)} ({CleanCorrect}/{Images} images).");
        md.AppendLine();
        md.AppendLine("| Attack | Norm | Eps | Robust accuracy | Success rate | Mean perturbation | Max perturbation | Time (s) |");
        md.AppendLine("|---|---|---|---:|---:|---:|---:|---:|");
        foreach (var e in Entries)
        {
            string eps = e.Epsilon is double value ? Budget.Format(value) : "-";
            md.AppendLine(c, $"| {e.Description} | {e.Norm.Name()} | {eps} | {AutoAttackReport.Percent(e.RobustAccuracy)} | {AutoAttackReport.Percent(e.SuccessRate)} | {e.MeanPerturbation:G4} | {e.MaxPerturbation:G4} | {e.Seconds:F1} |");
        }
        return md.ToString();
    }
}
