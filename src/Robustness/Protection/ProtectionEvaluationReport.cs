using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Robustness.Training;

namespace Robustness.Protection;

/// <summary>One victim of a <see cref="ProtectionEvaluation"/>: its clean test accuracy and how its training ended.</summary>
/// <param name="Test">Overall and per-class accuracy on the clean test set.</param>
/// <param name="FinalTrainLoss">Mean training loss of the last epoch (on the data it trained on, augmented as the recipe says).</param>
/// <param name="FinalTrainAccuracy">Training accuracy of the last epoch.</param>
/// <param name="WallSeconds">Seconds to train and test this victim.</param>
public sealed record VictimResult(AccuracyReport Test, double FinalTrainLoss, double FinalTrainAccuracy, double WallSeconds)
{
    /// <summary>Clean test accuracy (share of test images classified correctly).</summary>
    public double TestAccuracy => Test.Accuracy;
}

/// <summary>
/// What <see cref="ProtectionEvaluation.Evaluate"/> measured: the clean test accuracy of a victim trained on protected
/// data and, when a clean training set was given, of the same victim trained on clean data. Serialises to JSON
/// (camelCase, read back with <see cref="FromJson"/>) and to a Markdown summary.
/// </summary>
/// <param name="VictimArchitecture">The victim's architecture name.</param>
/// <param name="VictimWidth">The victim's width (0 = the architecture's standard width).</param>
/// <param name="Recipe">One line describing the victim's training recipe (<see cref="Training.ModelRecipe.Summary"/>).</param>
/// <param name="ProtectedVictim">The victim trained on the protected set.</param>
/// <param name="CleanVictim">The victim trained on the clean set, or null when it was skipped.</param>
public sealed record ProtectionEvaluationReport(
    string VictimArchitecture,
    int VictimWidth,
    string Recipe,
    VictimResult ProtectedVictim,
    VictimResult? CleanVictim)
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>Clean test accuracy of the victim trained on protected data.</summary>
    public double ProtectedVictimAccuracy => ProtectedVictim.TestAccuracy;

    /// <summary>Clean test accuracy of the victim trained on clean data, or null when skipped.</summary>
    public double? CleanVictimAccuracy => CleanVictim?.TestAccuracy;

    /// <summary>Clean victim's accuracy minus the protected victim's (positive: the protection hurt), or null without a clean victim.</summary>
    public double? AccuracyDrop => CleanVictimAccuracy - ProtectedVictimAccuracy;

    /// <summary>The report as indented JSON, the derived accuracies included.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Reads a report written by <see cref="ToJson"/>; malformed text raises <see cref="InvalidDataException"/>.</summary>
    public static ProtectionEvaluationReport FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            return JsonSerializer.Deserialize<ProtectionEvaluationReport>(json, JsonOptions)
                ?? throw new InvalidDataException("The protection evaluation JSON is null.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Not a valid protection evaluation report: {e.Message}", e);
        }
    }

    /// <summary>A Markdown summary: the accuracies, the drop, a per-class table and the recipe.</summary>
    public string ToMarkdown()
    {
        var c = CultureInfo.InvariantCulture;
        static string Percent(double? value) => value is double v ? (100 * v).ToString("F2", CultureInfo.InvariantCulture) + "%" : "-";
        var md = new StringBuilder();
        md.AppendLine("# Protection evaluation").AppendLine();
        md.AppendLine(c, $"Victim: {VictimArchitecture}; recipe: {Recipe}.").AppendLine();
        md.AppendLine("| victim trained on | clean test accuracy | final train loss | wall time (s) |");
        md.AppendLine("|---|---|---|---|");
        if (CleanVictim is not null)
            md.AppendLine(c, $"| clean data | {Percent(CleanVictim.TestAccuracy)} | {CleanVictim.FinalTrainLoss:F4} | {CleanVictim.WallSeconds:F1} |");
        md.AppendLine(c, $"| protected data | {Percent(ProtectedVictim.TestAccuracy)} | {ProtectedVictim.FinalTrainLoss:F4} | {ProtectedVictim.WallSeconds:F1} |");
        md.AppendLine();
        md.AppendLine(c, $"Accuracy drop: {(AccuracyDrop is double drop ? (100 * drop).ToString("F2", c) + " points" : "- (no clean victim)")}.").AppendLine();
        md.AppendLine("| class | clean victim | protected victim |");
        md.AppendLine("|---|---|---|");
        foreach (var cls in ProtectedVictim.Test.Classes)
        {
            double? clean = CleanVictim is null || cls.Index >= CleanVictim.Test.Classes.Count ? null : CleanVictim.Test.Classes[cls.Index].Accuracy;
            md.AppendLine(c, $"| {cls.Name} | {Percent(clean)} | {Percent(cls.Accuracy)} |");
        }
        return md.ToString();
    }
}
