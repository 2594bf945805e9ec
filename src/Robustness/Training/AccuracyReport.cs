using System.Text.Json;
using System.Text.Json.Serialization;

namespace Robustness.Training;

/// <summary>Accuracy on one class: how many images it has, how many were classified correctly.</summary>
/// <param name="Index">The class label.</param>
/// <param name="Name">The class name.</param>
/// <param name="Count">Images of this class.</param>
/// <param name="Correct">Of those, classified as this class.</param>
public sealed record ClassAccuracy(int Index, string Name, long Count, long Correct)
{
    /// <summary>Correct / Count, or null when the class has no images.</summary>
    public double? Accuracy => Count == 0 ? null : (double)Correct / Count;
}

/// <summary>
/// Overall and per-class accuracy of a classifier on a labelled collection; serialises to and from JSON
/// (camelCase) with <see cref="ToJson"/> and <see cref="FromJson"/>.
/// </summary>
/// <param name="Total">Images evaluated.</param>
/// <param name="Correct">Images classified correctly.</param>
/// <param name="Classes">Per-class counts, index = label.</param>
public sealed record AccuracyReport(long Total, long Correct, IReadOnlyList<ClassAccuracy> Classes)
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>Correct / Total (0 for an empty report).</summary>
    public double Accuracy => Total == 0 ? 0 : (double)Correct / Total;

    /// <summary>The report as indented JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Reads a report written by <see cref="ToJson"/>.</summary>
    public static AccuracyReport FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            return JsonSerializer.Deserialize<AccuracyReport>(json, JsonOptions)
                ?? throw new InvalidDataException("The accuracy report JSON is null.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Not a valid accuracy report: {e.Message}", e);
        }
    }

    /// <summary>Value equality including the per-class entries.</summary>
    public bool Equals(AccuracyReport? other) =>
        other is not null && Total == other.Total && Correct == other.Correct && Classes.SequenceEqual(other.Classes);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Total, Correct, Classes.Count);

    /// <inheritdoc />
    public override string ToString() => $"{Accuracy:P2} ({Correct}/{Total})";
}
