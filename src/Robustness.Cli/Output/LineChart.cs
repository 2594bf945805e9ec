using Robustness.IO;

namespace Robustness.Cli.Output;

/// <summary>
/// Draws one or more series as lines with markers in a PNG (ScottPlot): training curves, robust accuracy against the
/// budget, accuracy against sparsity. A series of one point is drawn as a marker.
/// </summary>
public static class LineChart
{
    /// <summary>One named series; <see cref="X"/> and <see cref="Y"/> have the same length (at least 1).</summary>
    public sealed record Series(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y);

    /// <summary>
    /// Writes a <paramref name="width"/> x <paramref name="height"/> PNG to <paramref name="path"/> (atomically).
    /// <paramref name="yRange"/>, when given, fixes the vertical axis (e.g. 0 to 100 for accuracies in %).
    /// </summary>
    public static void Write(string path, string title, string xLabel, string yLabel, IReadOnlyList<Series> series,
        (double Min, double Max)? yRange = null, int width = 640, int height = 400)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(series);
        if (series.Count == 0) throw new ArgumentException("There is no series to draw.", nameof(series));
        foreach (var s in series)
            if (s.X.Count == 0 || s.X.Count != s.Y.Count)
                throw new ArgumentException($"Series '{s.Name}' has {s.X.Count} x and {s.Y.Count} y values; it needs the same number, at least 1.", nameof(series));

        var plot = new ScottPlot.Plot();
        foreach (var s in series)
        {
            var line = plot.Add.Scatter(s.X.ToArray(), s.Y.ToArray());
            line.LegendText = s.Name;
            line.MarkerSize = s.X.Count > 60 ? 0 : 7;
            line.LineWidth = 2;
        }
        if (series.Count > 1) plot.ShowLegend(ScottPlot.Alignment.LowerRight);
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.Axes.AutoScale();
        if (yRange is { } range) plot.Axes.SetLimitsY(range.Min, range.Max);
        byte[] png = plot.GetImageBytes(width, height, ScottPlot.ImageFormat.Png);
        AtomicFile.Write(path, stream => stream.Write(png));
    }
}
