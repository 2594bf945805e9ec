using System.Globalization;
using System.Text;
using Robustness.Attacks;
using Robustness.IO;
using static Robustness.Cli.Commands.AttackCommand;

namespace Robustness.Cli.Output;

/// <summary>
/// The report of <c>robustness attack</c>: the numbers, robust accuracy against the budget (clean accuracy at budget
/// 0, then the main budget and every --budgets value) and a picture of attacked images: clean | adversarial |
/// difference amplified around grey.
/// </summary>
public static class AttackReport
{
    /// <summary>Writes the report's files into <paramref name="folder"/> and returns the line naming them.</summary>
    public static string Write(ReportFolder folder, AttackRunReport result, Norm norm, AttackExamples examples)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(examples);
        var c = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine(c, $"# Attack: {result.Attack}").AppendLine();
        md.AppendLine(c, $"- Model: `{result.Model}`");
        md.AppendLine(c, $"- Attack: {result.Description}");
        md.AppendLine(c, $"- Images: {result.Images}; clean accuracy {Percent(result.CleanAccuracy)}; {result.Seconds:F1} s in all");
        md.AppendLine("- Success rate and perturbation sizes are over the images the model classified correctly (the ones attacked).").AppendLine();
        md.AppendLine("| budget | robust accuracy | success rate | mean perturbation | max perturbation | seconds |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var b in result.Budgets)
            md.AppendLine(c, $"| {FormatBudget(norm, b.Epsilon)}{(b.Epsilon == result.Epsilon ? " (main)" : "")} | {Percent(b.RobustAccuracy)} | {Percent(b.SuccessRate)} | {b.MeanPerturbation:G4} | {b.MaxPerturbation:G4} | {b.Seconds:F1} |");
        md.AppendLine();

        if (result.Budgets.All(b => b.Epsilon is not null))
        {
            // l-inf budgets read best in pixel levels (8 = 8/255); l2 and l1 budgets as they are.
            double scale = norm == Norm.Linf ? 255 : 1;
            var xs = new List<double> { 0 };
            var ys = new List<double> { 100 * result.CleanAccuracy };
            foreach (var b in result.Budgets) { xs.Add(scale * b.Epsilon!.Value); ys.Add(100 * b.RobustAccuracy); }
            string curve = folder.PictureName("robust-accuracy.png");
            LineChart.Write(folder.PicturePath("robust-accuracy.png"), $"{result.Attack}: robust accuracy against the budget",
                norm == Norm.Linf ? "budget (l-inf, pixel levels of 255)" : $"budget ({norm.Name()})", "accuracy (%)",
                [new LineChart.Series(result.Attack, xs, ys)], (0, 100));
            md.AppendLine("## Robust accuracy against the budget").AppendLine();
            md.AppendLine(result.Budgets.Count == 1
                ? "Budget 0 is the clean accuracy. Give `--budgets` for more points."
                : "Budget 0 is the clean accuracy.").AppendLine();
            md.AppendLine(c, $"![robust accuracy against the budget]({curve})").AppendLine();
        }

        md.AppendLine("## Attacked images").AppendLine();
        if (examples.Pairs.Count == 0)
        {
            md.AppendLine("The attack changed no image (the model got none right, or every result rounded back to the clean image).");
        }
        else
        {
            int amplification = DifferencePanel.Amplification(examples.MaxLevels);
            var (channels, height, width) = examples.Shape;
            string panel = folder.PictureName("examples.png");
            DifferencePanel.Write(folder.PicturePath("examples.png"), examples.Pairs, channels, height, width, amplification);
            md.AppendLine(c, $"The first {examples.Pairs.Count} images the attack changed, one per row: clean | adversarial | difference x{amplification} around grey (the largest change shown, {examples.MaxLevels} levels, reaches +-{amplification * examples.MaxLevels}); enlarged with nearest-neighbour pixels.").AppendLine();
            md.AppendLine(c, $"![clean, adversarial and amplified difference]({panel})");
        }
        return folder.Write(result, md.ToString());
    }

    private static string Percent(double value) => value.ToString("P2", CultureInfo.InvariantCulture);
}
