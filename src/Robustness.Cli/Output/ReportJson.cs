using System.Text.Json;

namespace Robustness.Cli.Output;

/// <summary>JSON settings for every report the tool writes.</summary>
public static class ReportJson
{
    /// <summary>Indented, camelCase.</summary>
    public static JsonSerializerOptions Options { get; } = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
}
