using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Robustness.Attacks.Evaluation;

/// <summary>One attack of an AutoAttack run, in the order it ran.</summary>
/// <param name="Attack">The attack's name, e.g. <c>apgd-ce</c>.</param>
/// <param name="Description">The attack with its options, as it describes itself.</param>
/// <param name="IsBlackBox">The attack uses only outputs.</param>
/// <param name="Attacked">Points it ran on: those every earlier attack failed on.</param>
/// <param name="Broken">Of those, points it broke (misclassified, in [0,1], within the budget).</param>
/// <param name="Rejected">Points whose result was misclassified but left the budget, left [0,1] or held NaNs: not counted.</param>
/// <param name="RobustAccuracy">Robust accuracy over all images after this attack.</param>
/// <param name="Seconds">Time spent in this attack, summed over resumed runs.</param>
public sealed record AutoAttackStep(
    string Attack,
    string Description,
    bool IsBlackBox,
    int Attacked,
    int Broken,
    int Rejected,
    double RobustAccuracy,
    double Seconds);

/// <summary>
/// The sanity line of an AutoAttack run, over every adversarial image the attacks returned: the largest
/// perturbation norm (in the run's norm), the number of NaN values and the value range.
/// </summary>
/// <param name="MaxPerturbationNorm">Largest ||x' - x|| of any returned image (NaN images left out); 0 when none ran.</param>
/// <param name="NanValues">NaN values in the returned images.</param>
/// <param name="MinValue">Smallest returned value, null when no attack returned anything.</param>
/// <param name="MaxValue">Largest returned value, null when no attack returned anything.</param>
public sealed record AutoAttackSanity(double MaxPerturbationNorm, long NanValues, double? MinValue, double? MaxValue);

/// <summary>
/// The result of <see cref="AutoAttackEvaluator.Evaluate"/>: clean accuracy, robust accuracy after each attack and
/// at the end, the sanity line and the warnings. Serialises to JSON (<see cref="ToJson"/>, <see cref="FromJson"/>)
/// and Markdown (<see cref="ToMarkdown"/>).
/// </summary>
public sealed record AutoAttackReport
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>The norm of the threat model.</summary>
    public required Norm Norm { get; init; }

    /// <summary>The budget on the [0,1] scale.</summary>
    public required double Epsilon { get; init; }

    /// <summary>The run's seed.</summary>
    public required int Seed { get; init; }

    /// <summary>Images evaluated.</summary>
    public required int Images { get; init; }

    /// <summary>Images classified correctly without attack.</summary>
    public required int CleanCorrect { get; init; }

    /// <summary>Images still classified correctly after every attack.</summary>
    public required int RobustCorrect { get; init; }

    /// <summary>Fraction of all images whose input gradient of the cross-entropy is exactly zero (a sign of gradient masking).</summary>
    public required double ZeroGradientFraction { get; init; }

    /// <summary>The attacks in the order they ran.</summary>
    public required IReadOnlyList<AutoAttackStep> Attacks { get; init; }

    /// <summary>The sanity line.</summary>
    public required AutoAttackSanity Sanity { get; init; }

    /// <summary>Warnings (gradient masking signs, rejected results); empty when none.</summary>
    public required IReadOnlyList<string> Warnings { get; init; }

    /// <summary>Time spent on clean accuracy and the gradient check, summed over resumed runs.</summary>
    public required double CleanSeconds { get; init; }

    /// <summary>CleanCorrect / Images.</summary>
    public double CleanAccuracy => Images == 0 ? 0 : (double)CleanCorrect / Images;

    /// <summary>RobustCorrect / Images.</summary>
    public double RobustAccuracy => Images == 0 ? 0 : (double)RobustCorrect / Images;

    /// <summary>Total time of all stages.</summary>
    public double TotalSeconds => CleanSeconds + Attacks.Sum(a => a.Seconds);

    /// <summary>The report as indented JSON (camelCase, norms as names).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Reads a report written by <see cref="ToJson"/>; raises <see cref="InvalidDataException"/> for anything else.</summary>
    public static AutoAttackReport FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            return JsonSerializer.Deserialize<AutoAttackReport>(json, JsonOptions)
                ?? throw new InvalidDataException("The AutoAttack report JSON is null.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Not a valid AutoAttack report: {e.Message}", e);
        }
    }

    /// <summary>The report as Markdown: settings, a table of the attacks, the sanity line and the warnings.</summary>
    public string ToMarkdown()
    {
        var c = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine(c, $"# AutoAttack ({Norm.Name()}, eps {Budget.Format(Epsilon)})");
        md.AppendLine();
        md.AppendLine(c, $"- Images: {Images}, seed {Seed}");
        md.AppendLine(c, $"- Clean accuracy: {Percent(CleanAccuracy)} ({CleanCorrect}/{Images})");
        md.AppendLine(c, $"- Robust accuracy: {Percent(RobustAccuracy)} ({RobustCorrect}/{Images})");
        md.AppendLine(c, $"- Time: {TotalSeconds:F1} s");
        md.AppendLine();
        md.AppendLine("| # | Attack | Black-box | Attacked | Broken | Rejected | Robust accuracy after | Time (s) |");
        md.AppendLine("|---|---|---|---:|---:|---:|---:|---:|");
        for (int i = 0; i < Attacks.Count; i++)
        {
            var a = Attacks[i];
            md.AppendLine(c, $"| {i + 1} | {a.Description} | {(a.IsBlackBox ? "yes" : "no")} | {a.Attacked} | {a.Broken} | {a.Rejected} | {Percent(a.RobustAccuracy)} | {a.Seconds:F1} |");
        }
        md.AppendLine();
        string range = Sanity.MinValue is double min && Sanity.MaxValue is double max ? string.Create(c, $"[{min:G6}, {max:G6}]") : "none";
        md.AppendLine(c, $"Sanity: max {Norm.Name()} perturbation {Sanity.MaxPerturbationNorm:G6}, NaN values {Sanity.NanValues}, output range {range}.");
        md.AppendLine(c, $"Zero input gradients: {Percent(ZeroGradientFraction)} of the images.");
        if (Warnings.Count > 0)
        {
            md.AppendLine();
            md.AppendLine("Warnings:");
            foreach (var w in Warnings) md.AppendLine(c, $"- {w}");
        }
        return md.ToString();
    }

    internal static string Percent(double fraction) => (fraction * 100).ToString("F2", CultureInfo.InvariantCulture) + "%";
}
