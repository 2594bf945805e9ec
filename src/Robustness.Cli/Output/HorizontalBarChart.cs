using Robustness.IO;

namespace Robustness.Cli.Output;

/// <summary>
/// Draws labelled values as horizontal bars in a PNG (ScottPlot), the first label at the top: per-class accuracy,
/// per-layer sparsity. The picture grows with the number of bars so every label stays readable.
/// </summary>
public static class HorizontalBarChart
{
    /// <summary>
    /// Writes the bars to <paramref name="path"/> (atomically); <paramref name="maxValue"/> fixes the value axis
    /// (e.g. 100 for percentages), and each bar is labelled with its value in <paramref name="valueFormat"/>.
    /// </summary>
    public static void Write(string path, string title, string valueLabel, IReadOnlyList<(string Label, double Value)> bars,
        double? maxValue = null, string valueFormat = "F1", int width = 640)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(bars);
        if (bars.Count == 0) throw new ArgumentException("There are no bars to draw.", nameof(bars));

        var plot = new ScottPlot.Plot();
        // ScottPlot counts positions from the bottom: reverse, so the list reads top to bottom.
        var values = bars.Select(b => b.Value).Reverse().ToArray();
        var series = plot.Add.Bars(values);
        series.Horizontal = true;
        for (int i = 0; i < series.Bars.Count; i++)
            series.Bars[i].Label = values[i].ToString(valueFormat, System.Globalization.CultureInfo.InvariantCulture);
        series.ValueLabelStyle.FontSize = 11;
        plot.Axes.Left.SetTicks(Enumerable.Range(0, bars.Count).Select(i => (double)i).ToArray(), bars.Select(b => b.Label).Reverse().ToArray());
        plot.Axes.Margins(left: 0, right: 0.12);
        if (maxValue is double max) plot.Axes.SetLimitsX(0, max * 1.12);
        plot.XLabel(valueLabel);
        plot.Title(title);
        int height = Math.Clamp(120 + 22 * bars.Count, 240, 2400);
        byte[] png = plot.GetImageBytes(width, height, ScottPlot.ImageFormat.Png);
        AtomicFile.Write(path, stream => stream.Write(png));
    }
}
