using FluentAssertions;
using Robustness.IO;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Xunit;

namespace Robustness.Tests.IO;

/// <summary>The original | changed | amplified difference picture of the protection and attack reports.</summary>
public sealed class DifferencePanelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("robustness-panel-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(8, 15)]
    [InlineData(2, 63)]
    [InlineData(0, 127)]
    [InlineData(200, 1)]
    public void Amplification_maps_the_largest_change_into_half_the_grey_range(int levels, int expected) =>
        DifferencePanel.Amplification(levels).Should().Be(expected);

    [Fact]
    public void Rows_are_drawn_side_by_side_enlarged_with_the_difference_around_grey()
    {
        // One 2x2 RGB image; the changed copy is 4 levels brighter in red at the top-left pixel.
        byte[] original = [100, 100, 100, 100, 50, 50, 50, 50, 10, 10, 10, 10];
        byte[] changed = (byte[])original.Clone();
        changed[0] += 4;
        string path = Path.Combine(_dir, "panel.png");

        DifferencePanel.Write(path, [(original, changed), (original, original)], channels: 3, height: 2, width: 2, amplification: 10);

        using var image = Image.Load<Rgb24>(path);
        int scale = DifferencePanel.Upscale(2, 2), cell = 2 * scale, gap = 4;
        image.Width.Should().Be(3 * cell + 4 * gap);
        image.Height.Should().Be(2 * cell + 3 * gap);
        image[gap, gap].Should().Be(new Rgb24(100, 50, 10), "the first column is the original");
        image[gap + cell + gap, gap].Should().Be(new Rgb24(104, 50, 10), "the second is the changed image");
        image[gap + 2 * (cell + gap), gap].Should().Be(new Rgb24(168, 128, 128), "the third is 128 + 10 x the change");
        image[gap + 2 * (cell + gap), 2 * gap + cell].Should().Be(new Rgb24(128, 128, 128), "an unchanged row is flat grey");
    }

    [Fact]
    public void Grey_images_are_drawn_in_grey()
    {
        string path = Path.Combine(_dir, "grey.png");
        DifferencePanel.Write(path, [([7], [9])], channels: 1, height: 1, width: 1, amplification: 2);

        using var image = Image.Load<Rgb24>(path);
        image[4, 4].Should().Be(new Rgb24(7, 7, 7));
    }

    [Fact]
    public void Bad_input_names_the_argument()
    {
        string path = Path.Combine(_dir, "bad.png");
        FluentActions.Invoking(() => DifferencePanel.Write(path, [], 3, 2, 2, 1)).Should().Throw<ArgumentException>().WithParameterName("rows");
        FluentActions.Invoking(() => DifferencePanel.Write(path, [([1, 2], [1, 2])], 3, 2, 2, 1)).Should().Throw<ArgumentException>().WithParameterName("rows");
        FluentActions.Invoking(() => DifferencePanel.Write(path, [([1], [1])], 2, 1, 1, 1)).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("channels");
        FluentActions.Invoking(() => DifferencePanel.Write(path, [([1], [1])], 1, 1, 1, 0)).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("amplification");
        File.Exists(path).Should().BeFalse();
    }

    [Fact]
    public void The_zoom_window_is_centred_on_the_largest_change_and_stays_inside_the_image()
    {
        // A 1-channel 10x12 image changed most at row 8, column 11 (near the corner): a 4x4 window is pushed inside.
        byte[] original = new byte[120], changed = new byte[120];
        for (int p = 0; p < 120; p++) original[p] = changed[p] = (byte)p;
        changed[8 * 12 + 11] += 9;
        changed[2 * 12 + 2] += 3;

        var (rows, height, width) = DifferencePanel.Crop([(original, changed)], channels: 1, height: 10, width: 12, size: 4);

        (height, width).Should().Be((4, 4));
        rows[0].Original[0].Should().Be((byte)(6 * 12 + 8), "the window's top-left is row 6, column 8");
        rows[0].Changed[2 * 4 + 3].Should().Be((byte)(8 * 12 + 11 + 9), "the largest change is inside it");
        DifferencePanel.Crop([(original, changed)], 1, 10, 12, 64).Height.Should().Be(10, "a window larger than the image is the image");
    }
}
