using System.Globalization;
using Robustness.IO;

namespace Robustness.Forensics;

/// <summary>A matrix of percentages (0 to 100; NaN cells left blank) drawn as a PNG heat map with each value written in its cell.</summary>
internal static class PercentHeatMap
{
    /// <summary>Draws <paramref name="values"/> (row 0 at the top) with the row and column names as ticks.</summary>
    public static void Write(string path, string title, double[,] values, IReadOnlyList<string> rows, IReadOnlyList<string> columns, string xLabel, string yLabel,
        int cellWidth, int cellHeight, float fontSize)
    {
        int n = rows.Count, m = columns.Count;
        var plot = new ScottPlot.Plot();
        var map = plot.Add.Heatmap(values);
        map.Colormap = new ScottPlot.Colormaps.Viridis();
        map.ManualRange = new ScottPlot.Range(0, 100);
        plot.Add.ColorBar(map);
        // Heatmap cell (r, c) is centred at x = c, y = rows - 1 - r (row 0 drawn at the top).
        for (int r = 0; r < n; r++)
            for (int c = 0; c < m; c++)
                if (!double.IsNaN(values[r, c]))
                {
                    var text = plot.Add.Text(values[r, c].ToString("F0", CultureInfo.InvariantCulture), c, n - 1 - r);
                    text.LabelFontColor = values[r, c] > 60 ? ScottPlot.Colors.Black : ScottPlot.Colors.White;
                    text.LabelAlignment = ScottPlot.Alignment.MiddleCenter;
                    text.LabelFontSize = fontSize;
                }
        plot.Axes.Bottom.SetTicks([.. Enumerable.Range(0, m).Select(i => (double)i)], [.. columns]);
        plot.Axes.Left.SetTicks([.. Enumerable.Range(0, n).Select(i => (double)(n - 1 - i))], [.. rows]);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.Title(title);
        byte[] png = plot.GetImageBytes(160 + cellWidth * m, 120 + cellHeight * n, ScottPlot.ImageFormat.Png);
        AtomicFile.Write(path, s => s.Write(png));
    }
}
