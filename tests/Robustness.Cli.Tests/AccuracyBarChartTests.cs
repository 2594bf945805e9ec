using FluentAssertions;
using Robustness.Cli.Output;
using SixLabors.ImageSharp;
using Xunit;

namespace Robustness.Cli.Tests;

public sealed class AccuracyBarChartTests
{
    [Fact]
    public void A_bar_chart_png_is_written()
    {
        string path = Path.Combine(Path.GetTempPath(), $"robustness-chart-{Guid.NewGuid():N}.png");
        try
        {
            AccuracyBarChart.Write(path, "Victim test accuracy", [("clean", 0.754), ("protected", 0.128)]);

            var info = Image.Identify(path);
            info.Should().NotBeNull();
            (info!.Width, info.Height).Should().Be((480, 320));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
