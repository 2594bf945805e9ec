using System.Globalization;
using Robustness.Training;

namespace Robustness.Cli.Output;

/// <summary>Prints an <see cref="AccuracyReport"/> as an aligned plain-text table (readable in logs and terminals alike).</summary>
public static class AccuracyTable
{
    /// <summary>Writes overall accuracy and one line per class.</summary>
    public static void Write(TextWriter output, AccuracyReport report)
    {
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Accuracy {report.Accuracy:P2} ({report.Correct}/{report.Total})"));
        int nameWidth = Math.Max(5, report.Classes.Max(c => c.Name.Length));
        output.WriteLine($"  {"class".PadRight(nameWidth)}  accuracy   correct/count");
        foreach (var c in report.Classes)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {c.Name.PadRight(nameWidth)}  {(c.Accuracy is double a ? a.ToString("P1", CultureInfo.InvariantCulture) : "-"),8}   {c.Correct}/{c.Count}"));
    }
}
