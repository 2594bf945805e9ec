using FluentAssertions;
using Robustness.Cli.Output;
using Xunit;

namespace Robustness.Cli.Tests;

/// <summary>The Markdown report turned into one self-contained HTML page.</summary>
public sealed class HtmlReportTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("robustness-html-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Chart(string name)
    {
        string path = Path.Combine(_dir, name);
        LineChart.Write(path, "t", "x", "y", [new LineChart.Series("s", [0.0, 1, 2], [1.0, 3, 2])]);
        return path;
    }

    [Fact]
    public void Pictures_are_embedded_tables_rendered_and_the_title_taken_from_the_first_heading()
    {
        Chart("curve.png");
        string md = Path.Combine(_dir, "report.md");
        File.WriteAllText(md, "# Attack: pgd\n\n| a | b |\n|---|---:|\n| 1 | 2 |\n\n![curve](curve.png)\n");

        string html = File.ReadAllText(HtmlReport.Write(md));

        html.Should().Contain("<title>Attack: pgd</title>").And.Contain("<table>").And.Contain("<td style=\"text-align: right;\">2</td>");
        ReportAssertions.ShouldBeSelfContained(html, images: 1);
        File.Exists(Path.Combine(_dir, "report.html")).Should().BeTrue();
    }

    [Fact]
    public void Raw_html_in_names_is_escaped_not_run()
    {
        string html = HtmlReport.Render("# Classes\n\n- <script>alert(1)</script> and <img src=x onerror=alert(1)>\n", _dir);

        html.Should().NotContain("<script>").And.NotContain("<img src=x").And.Contain("&lt;script&gt;");
    }

    [Fact]
    public void A_link_that_leaves_the_folder_or_names_no_picture_is_not_embedded()
    {
        string outside = Directory.CreateTempSubdirectory("robustness-html-outside-").FullName;
        try
        {
            LineChart.Write(Path.Combine(outside, "secret.png"), "t", "x", "y", [new LineChart.Series("s", [0.0], [1.0])]);
            string html = HtmlReport.Render($"![a](../{Path.GetFileName(outside)}/secret.png) ![b](missing.png) ![c](https://example.org/x.png)", _dir);

            html.Should().NotContain("data:image").And.Contain("missing.png").And.Contain("https://example.org/x.png");
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public void The_page_forbids_loading_anything_from_outside()
    {
        HtmlReport.Render("# x", _dir).Should().Contain("Content-Security-Policy").And.Contain("default-src 'none'; img-src data:");
    }
}
