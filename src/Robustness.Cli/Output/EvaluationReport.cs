using System.Globalization;
using System.Text;
using static Robustness.Cli.Commands.EvaluateCommand;

namespace Robustness.Cli.Output;

/// <summary>
/// The report of <c>robustness evaluate</c>: accuracy overall and per class (a table and a bar chart) and, after
/// <c>--autoattack</c>, the AutoAttack-style report with robust accuracy after each of its attacks as bars.
/// </summary>
public static class EvaluationReport
{
    /// <summary>Writes the report's files into <paramref name="folder"/> and returns the line naming them.</summary>
    public static string Write(ReportFolder folder, EvaluationDocument document)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(document);
        var c = CultureInfo.InvariantCulture;
        var accuracy = document.Accuracy;
        var md = new StringBuilder();
        md.AppendLine(c, $"# Evaluation: {document.Architecture}").AppendLine();
        md.AppendLine(c, $"- Model: `{document.Model}`");
        md.AppendLine(c, $"- Images: {document.Images}; accuracy {accuracy.Accuracy.ToString("P2", c)} ({accuracy.Correct}/{accuracy.Total})").AppendLine();
        md.AppendLine("| class | accuracy | correct / images |").AppendLine("|---|---:|---:|");
        foreach (var k in accuracy.Classes)
            md.AppendLine(c, $"| {k.Name} | {(k.Accuracy is double a ? a.ToString("P1", c) : "-")} | {k.Correct} / {k.Count} |");
        md.AppendLine();
        var bars = accuracy.Classes.Where(k => k.Accuracy is not null).Select(k => (k.Name, 100 * k.Accuracy!.Value)).ToList();
        if (bars.Count > 0)
        {
            HorizontalBarChart.Write(folder.PicturePath("class-accuracy.png"), "Accuracy per class", "accuracy (%)", bars, maxValue: 100);
            md.AppendLine(c, $"![accuracy per class]({folder.PictureName("class-accuracy.png")})").AppendLine();
        }

        if (document.AutoAttack is { } robust)
        {
            // The library's Markdown starts at level 1: one level down, under this report's title.
            foreach (string line in robust.ToMarkdown().Split('\n'))
                md.AppendLine(line.StartsWith('#') ? "#" + line.TrimEnd('\r') : line.TrimEnd('\r'));
            var stages = new List<(string, double)> { ("clean", 100 * robust.CleanAccuracy) };
            stages.AddRange(robust.Attacks.Select(a => ($"after {a.Attack}", 100 * a.RobustAccuracy)));
            HorizontalBarChart.Write(folder.PicturePath("autoattack.png"), "Accuracy after each attack of the ensemble", "accuracy (%)", stages, maxValue: 100);
            md.AppendLine().AppendLine(c, $"![accuracy after each attack]({folder.PictureName("autoattack.png")})");
        }
        return folder.Write(document, md.ToString());
    }
}
