using System.Globalization;
using System.Text;
using static Robustness.Cli.Commands.PruneCommand;

namespace Robustness.Cli.Output;

/// <summary>
/// The report of <c>robustness prune</c>: the tables of <see cref="PruneReport.ToMarkdown"/> with two pictures,
/// clean and robust accuracy against sparsity (the teacher and the student) and the sparsity of each pruned layer.
/// </summary>
public static class PruningReport
{
    /// <summary>Writes the report's files into <paramref name="folder"/> and returns the line naming them.</summary>
    public static string Write(ReportFolder folder, PruneReport document)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(document);
        var c = CultureInfo.InvariantCulture;
        var md = new StringBuilder(document.ToMarkdown()).AppendLine();
        var models = new[] { document.Teacher, document.Student }.OrderBy(m => m.Sparsity).ToArray();
        double[] sparsity = models.Select(m => 100 * m.Sparsity).ToArray();
        var series = new List<LineChart.Series>
        {
            new("clean", sparsity, models.Select(m => 100 * m.CleanAccuracy).ToArray()),
            new($"PGD-10 at {document.Eps}", sparsity, models.Select(m => 100 * m.PgdAccuracy).ToArray()),
        };
        if (models.All(m => m.AutoAttackAccuracy is not null))
            series.Add(new($"AutoAttack at {document.Eps}", sparsity, models.Select(m => 100 * m.AutoAttackAccuracy!.Value).ToArray()));
        LineChart.Write(folder.PicturePath("accuracy-sparsity.png"), $"{document.Method}: accuracy against sparsity (teacher and student)",
            "sparsity (% of pruned weights)", "accuracy (%)", series, (0, 100));
        md.AppendLine("## Accuracy against sparsity").AppendLine();
        md.AppendLine(c, $"The teacher (sparsity {document.Teacher.Sparsity.ToString("P1", c)}) and the {document.Method} student ({document.Student.Sparsity.ToString("P1", c)}); robust accuracy on the {document.AttackedImages} attacked test images.").AppendLine();
        md.AppendLine(c, $"![accuracy against sparsity]({folder.PictureName("accuracy-sparsity.png")})").AppendLine();

        if (document.Sparsity.Layers.Count > 0)
        {
            HorizontalBarChart.Write(folder.PicturePath("layer-sparsity.png"), "Sparsity of each pruned tensor", "sparsity (%)",
                document.Sparsity.Layers.Select(l => (l.Name, 100 * l.Sparsity)).ToList(), maxValue: 100);
            md.AppendLine("## Sparsity per layer").AppendLine();
            md.AppendLine(c, $"![sparsity per layer]({folder.PictureName("layer-sparsity.png")})");
        }
        return folder.Write(document, md.ToString());
    }
}
