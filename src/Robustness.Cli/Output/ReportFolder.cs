using System.CommandLine;
using System.Text.Json;
using Robustness.IO;

namespace Robustness.Cli.Output;

/// <summary>
/// Where a command's <c>--report</c> goes: a folder holding <c>report.json</c> (the numbers), <c>report.md</c> (tables
/// and pictures), <c>report.html</c> (the same page, self-contained) and the pictures (PNG). Every report command
/// uses this one layout. For one release a path ending in <c>.json</c> keeps its old meaning, the JSON file itself,
/// and the other files go beside it under the same name (<c>run.json</c>, <c>run.md</c>, <c>run.html</c>,
/// <c>run-*.png</c>), with a warning.
/// </summary>
public sealed class ReportFolder
{
    private readonly string _folder, _stem;

    private ReportFolder(string folder, string stem, bool legacy)
    {
        _folder = folder;
        _stem = stem;
        IsLegacyJsonPath = legacy;
    }

    /// <summary>The <c>--report</c> option with the shared description.</summary>
    public static Option<string?> Option(string contents) => new("--report")
    {
        Description = $"Write a report into this folder: report.json, report.md, report.html (self-contained) and the pictures ({contents}).",
    };

    /// <summary>The report of <paramref name="option"/>'s value, or null when it was not given.</summary>
    public static ReportFolder? From(ParseResult parse, Option<string?> option, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(parse);
        ArgumentNullException.ThrowIfNull(error);
        if (parse.GetValue(option) is not string value) return null;
        if (string.IsNullOrWhiteSpace(value)) throw new UsageException("--report needs a folder.");
        string full = Path.GetFullPath(value);
        if (full.EndsWith(".json", StringComparison.OrdinalIgnoreCase) && !Directory.Exists(full))
        {
            error.WriteLine($"warning: --report {value}: a .json file is the old meaning of --report, kept for this release; give a folder instead.");
            return new ReportFolder(Path.GetDirectoryName(full)!, Path.GetFileNameWithoutExtension(full), legacy: true);
        }
        if (File.Exists(full)) throw new UsageException($"--report '{value}' is a file; give a folder (it is created if missing).");
        return new ReportFolder(full, "report", legacy: false);
    }

    /// <summary>True when <c>--report</c> named a .json file (the old layout: files beside it).</summary>
    public bool IsLegacyJsonPath { get; }

    /// <summary>The JSON report's path.</summary>
    public string JsonPath => Path.Combine(_folder, _stem + ".json");

    /// <summary>The Markdown report's path.</summary>
    public string MarkdownPath => Path.Combine(_folder, _stem + ".md");

    /// <summary>The HTML report's path.</summary>
    public string HtmlPath => Path.Combine(_folder, _stem + ".html");

    /// <summary>The file name (relative to the Markdown, as it links it) of the picture called <paramref name="name"/>.</summary>
    public string PictureName(string name) => IsLegacyJsonPath ? $"{_stem}-{name}" : name;

    /// <summary>The full path of the picture called <paramref name="name"/>.</summary>
    public string PicturePath(string name) => Path.Combine(_folder, PictureName(name));

    /// <summary>
    /// Writes the JSON document, the Markdown and the HTML page made from it (pictures must be written first) and
    /// returns the line telling the user where they are.
    /// </summary>
    public string Write<T>(T document, string markdown)
    {
        ArgumentNullException.ThrowIfNull(markdown);
        AtomicFile.WriteAllText(JsonPath, JsonSerializer.Serialize(document, ReportJson.Options));
        AtomicFile.WriteAllText(MarkdownPath, markdown);
        HtmlReport.Write(MarkdownPath);
        return IsLegacyJsonPath
            ? $"Report written to {JsonPath}, {MarkdownPath} and {HtmlPath}."
            : $"Report written to {_folder} (report.json, report.md, report.html).";
    }
}
