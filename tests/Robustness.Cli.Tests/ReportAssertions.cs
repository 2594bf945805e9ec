using System.Text.RegularExpressions;
using FluentAssertions;

namespace Robustness.Cli.Tests;

/// <summary>What every report folder must hold: JSON, Markdown, a self-contained HTML page, and the named pictures as PNG.</summary>
internal static partial class ReportAssertions
{
    private static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Checks the folder's files and returns the HTML page's text.</summary>
    public static string ShouldBeACompleteReport(string folder, params string[] pictures)
    {
        foreach (string name in new[] { "report.json", "report.md", "report.html" })
            File.Exists(Path.Combine(folder, name)).Should().BeTrue($"{name} is part of every report");
        string markdown = File.ReadAllText(Path.Combine(folder, "report.md"));
        foreach (string picture in pictures)
        {
            ShouldBePng(File.ReadAllBytes(Path.Combine(folder, picture)), picture);
            markdown.Should().Contain($"]({picture})", "the Markdown shows the picture");
        }
        string html = File.ReadAllText(Path.Combine(folder, "report.html"));
        ShouldBeSelfContained(html, pictures.Length);
        return html;
    }

    /// <summary>Every image is embedded as a PNG data URI (at least <paramref name="images"/> of them); nothing is loaded from outside.</summary>
    public static void ShouldBeSelfContained(string html, int images)
    {
        html.Should().StartWith("<!DOCTYPE html>");
        var sources = ImageSource().Matches(html).Select(m => m.Groups[1].Value).ToArray();
        sources.Length.Should().BeGreaterThanOrEqualTo(images);
        foreach (string source in sources)
        {
            source.Should().StartWith("data:image/png;base64,");
            ShouldBePng(Convert.FromBase64String(source["data:image/png;base64,".Length..]), "an embedded picture");
        }
        html.Should().NotContainAny("<script", "<link", "http://", "https://");
    }

    private static void ShouldBePng(byte[] bytes, string what) => bytes.Take(8).Should().Equal(PngSignature, $"{what} is a PNG");

    [GeneratedRegex("<img[^>]*\\ssrc=\"([^\"]*)\"")]
    private static partial Regex ImageSource();
}
