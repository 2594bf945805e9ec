using Robustness.IO;

namespace Robustness.Cli.Output;

/// <summary>
/// Draws test accuracies as a bar chart PNG with ScottPlot (e.g. victims trained on clean vs protected data), for
/// the protection report. Ready for the victim evaluation of <c>robustness protect</c>.
/// </summary>
public static class AccuracyBarChart
{
    /// <summary>Writes a <paramref name="width"/> x <paramref name="height"/> PNG of the bars (accuracies in [0,1], shown in %) to <paramref name="path"/>.</summary>
    public static void Write(string path, string title, IReadOnlyList<(string Label, double Accuracy)> bars, int width = 480, int height = 320)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(bars);
        if (bars.Count == 0) throw new ArgumentException("There are no bars to draw.", nameof(bars));
        var plot = new ScottPlot.Plot();
        var values = bars.Select(b => 100 * b.Accuracy).ToArray();
        var series = plot.Add.Bars(values);
        for (int i = 0; i < series.Bars.Count; i++) series.Bars[i].Label = $"{values[i]:F1}%";
        series.ValueLabelStyle.FontSize = 14;
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, bars.Count).Select(i => (double)i).ToArray(), bars.Select(b => b.Label).ToArray());
        plot.Axes.SetLimitsY(0, 105);
        plot.YLabel("test accuracy (%)");
        plot.Title(title);
        byte[] png = plot.GetImageBytes(width, height, ScottPlot.ImageFormat.Png);
        AtomicFile.Write(path, stream => stream.Write(png));
    }
}
