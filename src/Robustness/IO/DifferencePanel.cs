using Robustness.Validation;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Robustness.IO;

/// <summary>
/// One picture of image pairs, a row each: original | changed | the difference amplified around mid-grey, so an
/// imperceptible change (a protection, an adversarial perturbation) becomes visible. The protection report and the
/// tool's attack report draw with it. Pixels are channel-first 8-bit (1 channel: grey, 3: RGB), enlarged with
/// nearest-neighbour pixels so small images stay legible.
/// </summary>
public static class DifferencePanel
{
    private const int Gap = 4;

    /// <summary>
    /// The largest whole factor that maps a change of <paramref name="levels"/> pixel levels into [-127, 127] around
    /// grey 128 (at least 1): 15 for 8/255, 63 for 2/255.
    /// </summary>
    public static int Amplification(int levels) => Math.Max(1, 127 / Math.Max(1, levels));

    /// <summary>Whole upscale factor so the larger side is at least 96 pixels, at most 8.</summary>
    public static int Upscale(int height, int width) => Math.Clamp((96 + Math.Max(height, width) - 1) / Math.Max(height, width), 1, 8);

    /// <summary>
    /// Writes the rows as one PNG at <paramref name="path"/> (atomically). Every row's two images hold
    /// <paramref name="channels"/> x <paramref name="height"/> x <paramref name="width"/> bytes.
    /// </summary>
    public static void Write(string path, IReadOnlyList<(byte[] Original, byte[] Changed)> rows, int channels, int height, int width, int amplification) =>
        Write(path, rows, channels, height, width, amplification, Upscale(Math.Max(1, height), Math.Max(1, width)));

    /// <summary>As <see cref="Write(string, IReadOnlyList{ValueTuple{byte[], byte[]}}, int, int, int, int)"/>, enlarged <paramref name="scale"/> times.</summary>
    public static void Write(string path, IReadOnlyList<(byte[] Original, byte[] Changed)> rows, int channels, int height, int width, int amplification, int scale)
    {
        Require.AtLeast(scale, 1, nameof(scale));
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0) throw new ArgumentException("There are no rows to draw.", nameof(rows));
        if (channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "channels must be 1 (grey) or 3 (RGB).");
        Require.AtLeast(height, 1, nameof(height));
        Require.AtLeast(width, 1, nameof(width));
        Require.AtLeast(amplification, 1, nameof(amplification));
        int bytes = channels * height * width;
        if (rows.Any(r => r.Original is null || r.Changed is null || r.Original.Length != bytes || r.Changed.Length != bytes))
            throw new ArgumentException($"Every image must hold {channels}x{height}x{width} = {bytes} bytes.", nameof(rows));

        int cellW = width * scale, cellH = height * scale, plane = height * width;
        using var canvas = new Image<Rgb24>(3 * cellW + 4 * Gap, rows.Count * cellH + (rows.Count + 1) * Gap, new Rgb24(255, 255, 255));
        for (int row = 0; row < rows.Count; row++)
        {
            var (original, changed) = rows[row];
            for (int column = 0; column < 3; column++)
            {
                int left = Gap + column * (cellW + Gap), top = Gap + row * (cellH + Gap);
                for (int y = 0; y < cellH; y++)
                for (int x = 0; x < cellW; x++)
                {
                    int p = (y / scale) * width + x / scale;
                    canvas[left + x, top + y] = new Rgb24(Pixel(0), Pixel(channels == 3 ? 1 : 0), Pixel(channels == 3 ? 2 : 0));

                    byte Pixel(int c) => column switch
                    {
                        0 => original[c * plane + p],
                        1 => changed[c * plane + p],
                        _ => (byte)Math.Clamp(128 + amplification * (changed[c * plane + p] - original[c * plane + p]), 0, 255),
                    };
                }
            }
        }
        AtomicFile.Write(path, stream => canvas.SaveAsPng(stream));
    }

    /// <summary>
    /// The <paramref name="size"/> x <paramref name="size"/> window (or less, where the image is smaller) centred on the
    /// pixel the first row changes most, cut out of every row: the zoomed view of a large image, where a change of a few
    /// levels is invisible at full size.
    /// </summary>
    public static (IReadOnlyList<(byte[] Original, byte[] Changed)> Rows, int Height, int Width) Crop(IReadOnlyList<(byte[] Original, byte[] Changed)> rows,
        int channels, int height, int width, int size)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0) throw new ArgumentException("There are no rows to crop.", nameof(rows));
        Require.AtLeast(size, 1, nameof(size));
        int plane = height * width, best = 0, bestP = 0;
        var (o, c) = rows[0];
        for (int p = 0; p < plane; p++)
        {
            int d = 0;
            for (int ch = 0; ch < channels; ch++) d += Math.Abs(c[ch * plane + p] - o[ch * plane + p]);
            if (d > best) (best, bestP) = (d, p);
        }
        int h = Math.Min(size, height), w = Math.Min(size, width);
        int top = Math.Clamp(bestP / width - h / 2, 0, height - h), left = Math.Clamp(bestP % width - w / 2, 0, width - w);
        byte[] Cut(byte[] image)
        {
            var cut = new byte[channels * h * w];
            for (int ch = 0; ch < channels; ch++)
                for (int y = 0; y < h; y++)
                    Array.Copy(image, ch * plane + (top + y) * width + left, cut, (ch * h + y) * w, w);
            return cut;
        }
        return (rows.Select(r => (Cut(r.Original), Cut(r.Changed))).ToList(), h, w);
    }
}
