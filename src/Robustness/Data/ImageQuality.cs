using Robustness.Validation;

namespace Robustness.Data;

/// <summary>
/// How visible a change to an 8-bit image is: PSNR and SSIM between the original and the changed pixels, as the
/// protection tools report them. Pixels are channel-first bytes (<see cref="ImageSet"/>'s layout).
/// </summary>
public static class ImageQuality
{
    /// <summary>Gaussian window of SSIM (Wang et al. 2004): 11 x 11, sigma 1.5.</summary>
    public const int SsimWindow = 11;

    private const double SsimSigma = 1.5, C1 = 0.01 * 255 * 0.01 * 255, C2 = 0.03 * 255 * 0.03 * 255;

    /// <summary>
    /// Peak signal-to-noise ratio in dB over every pixel and channel, 10 log10(255^2 / MSE); null when the images are
    /// identical (the ratio is infinite).
    /// </summary>
    public static double? Psnr(ReadOnlySpan<byte> original, ReadOnlySpan<byte> changed)
    {
        SameLength(original, changed);
        long squares = 0;
        for (int i = 0; i < original.Length; i++)
        {
            int d = changed[i] - original[i];
            squares += d * d;
        }
        if (squares == 0) return null;
        double mse = (double)squares / original.Length;
        return 10 * Math.Log10(255.0 * 255.0 / mse);
    }

    /// <summary>
    /// Structural similarity (Wang, Bovik, Sheikh and Simoncelli 2004) in [-1, 1], 1 for identical images: the mean of
    /// the SSIM map over every position where the 11 x 11 Gaussian window (sigma 1.5) fits, per channel, averaged over
    /// the channels, with K1 = 0.01, K2 = 0.03 and L = 255, as the authors' reference code computes it. Images smaller
    /// than the window use the largest odd window that fits, its sigma scaled alike.
    /// </summary>
    public static double Ssim(ReadOnlySpan<byte> original, ReadOnlySpan<byte> changed, int channels, int height, int width)
    {
        Require.AtLeast(channels, 1, nameof(channels));
        Require.AtLeast(height, 1, nameof(height));
        Require.AtLeast(width, 1, nameof(width));
        SameLength(original, changed);
        if (original.Length != (long)channels * height * width)
            throw new ArgumentException($"The images hold {original.Length} bytes; {channels}x{height}x{width} needs {(long)channels * height * width}.", nameof(original));

        int window = Math.Min(SsimWindow, Math.Min(height, width));
        if (window % 2 == 0) window--;
        double[] kernel = Gaussian(window, SsimSigma * window / SsimWindow);
        int outH = height - window + 1, outW = width - window + 1, plane = height * width;
        double total = 0;
        // The separable Gaussian filter ("valid" positions), streamed row by row: each input row is filtered along x
        // into a ring of `window` rows per moment, and each output row is the y-filter over the ring. Memory is
        // 5 x window x width doubles whatever the photo's size (seven double planes of a 12 MP photo took about 0.7 GB), and the
        // sums run in the same order as a filter over whole planes, so the figures are the same to the last bit.
        var ring = new double[5][];
        for (int m = 0; m < ring.Length; m++) ring[m] = new double[window * outW];
        for (int c = 0; c < channels; c++)
        {
            var x = original.Slice(c * plane, plane);
            var y = changed.Slice(c * plane, plane);
            double sum = 0;
            for (int row = 0; row < height; row++)
            {
                int slot = (row % window) * outW;
                FilterRow(x.Slice(row * width, width), y.Slice(row * width, width), kernel, outW,
                    ring[0].AsSpan(slot, outW), ring[1].AsSpan(slot, outW), ring[2].AsSpan(slot, outW), ring[3].AsSpan(slot, outW), ring[4].AsSpan(slot, outW));
                int top = row - window + 1;
                if (top < 0) continue;
                for (int col = 0; col < outW; col++)
                {
                    double mx = 0, my = 0, xx = 0, yy = 0, xy = 0;
                    for (int k = 0; k < window; k++)
                    {
                        int at = ((top + k) % window) * outW + col;
                        double w = kernel[k];
                        mx += w * ring[0][at];
                        my += w * ring[1][at];
                        xx += w * ring[2][at];
                        yy += w * ring[3][at];
                        xy += w * ring[4][at];
                    }
                    double vx = xx - mx * mx, vy = yy - my * my, cxy = xy - mx * my;
                    sum += (2 * mx * my + C1) * (2 * cxy + C2) / ((mx * mx + my * my + C1) * (vx + vy + C2));
                }
            }
            total += sum / ((double)outH * outW);
        }
        return total / channels;
    }

    private static double[] Gaussian(int size, double sigma)
    {
        var k = new double[size];
        int half = size / 2;
        for (int i = 0; i < size; i++) k[i] = Math.Exp(-(i - half) * (i - half) / (2 * sigma * sigma));
        double norm = k.Sum();
        for (int i = 0; i < size; i++) k[i] /= norm;
        return k;
    }

    // One row of the x-filter, for the five moments SSIM needs: x, y, x^2, y^2 and xy.
    private static void FilterRow(ReadOnlySpan<byte> x, ReadOnlySpan<byte> y, double[] kernel, int outW,
        Span<double> mx, Span<double> my, Span<double> xx, Span<double> yy, Span<double> xy)
    {
        int n = kernel.Length;
        for (int col = 0; col < outW; col++)
        {
            double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
            for (int k = 0; k < n; k++)
            {
                double a = x[col + k], b = y[col + k], w = kernel[k];
                sx += w * a;
                sy += w * b;
                sxx += w * (a * a);
                syy += w * (b * b);
                sxy += w * (a * b);
            }
            mx[col] = sx;
            my[col] = sy;
            xx[col] = sxx;
            yy[col] = syy;
            xy[col] = sxy;
        }
    }

    private static void SameLength(ReadOnlySpan<byte> original, ReadOnlySpan<byte> changed)
    {
        if (original.Length == 0) throw new ArgumentException("The images are empty.", nameof(original));
        if (original.Length != changed.Length)
            throw new ArgumentException($"The images differ in size: {original.Length} and {changed.Length} bytes.", nameof(changed));
    }
}

/// <summary>
/// PSNR and SSIM over a set of images: mean, minimum and 5th percentile (the worst 5% are at or below it), and how
/// many images were left unchanged (infinite PSNR, not in the PSNR figures).
/// </summary>
/// <param name="Images">Images measured.</param>
/// <param name="Unchanged">Of those, images identical to their original.</param>
/// <param name="MeanPsnr">Mean PSNR in dB over the changed images (null when none changed).</param>
/// <param name="MinPsnr">Lowest PSNR (the most visible change).</param>
/// <param name="Psnr5thPercentile">5th percentile of PSNR (nearest rank).</param>
/// <param name="MeanSsim">Mean SSIM over every image.</param>
/// <param name="MinSsim">Lowest SSIM.</param>
/// <param name="Ssim5thPercentile">5th percentile of SSIM (nearest rank).</param>
public sealed record QualitySummary(int Images, int Unchanged, double? MeanPsnr, double? MinPsnr, double? Psnr5thPercentile,
    double MeanSsim, double MinSsim, double Ssim5thPercentile)
{
    /// <summary>The summary of per-image (PSNR, SSIM) pairs, a null PSNR meaning unchanged; null for no image.</summary>
    public static QualitySummary? Of(IEnumerable<(double? Psnr, double Ssim)> images)
    {
        ArgumentNullException.ThrowIfNull(images);
        var all = images.ToArray();
        if (all.Length == 0) return null;
        var psnr = all.Where(i => i.Psnr is not null).Select(i => i.Psnr!.Value).Order().ToArray();
        var ssim = all.Select(i => i.Ssim).Order().ToArray();
        return new QualitySummary(all.Length, all.Length - psnr.Length,
            psnr.Length == 0 ? null : psnr.Average(), psnr.Length == 0 ? null : psnr[0], psnr.Length == 0 ? null : FifthPercentile(psnr),
            ssim.Average(), ssim[0], FifthPercentile(ssim));
    }

    // Nearest rank: the smallest value with at least 5% of the values at or below it.
    private static double FifthPercentile(double[] sorted) => sorted[Math.Max(0, (int)Math.Ceiling(0.05 * sorted.Length) - 1)];

    /// <summary>One line: PSNR mean / 5th percentile / min and SSIM alike.</summary>
    public override string ToString()
    {
        var c = System.Globalization.CultureInfo.InvariantCulture;
        string psnr = MeanPsnr is double m
            ? string.Create(c, $"PSNR mean {m:F2} dB, 5th percentile {Psnr5thPercentile:F2}, min {MinPsnr:F2}")
            : "PSNR infinite (no image changed)";
        return string.Create(c, $"{psnr}; SSIM mean {MeanSsim:F4}, 5th percentile {Ssim5thPercentile:F4}, min {MinSsim:F4} over {Images} image(s){(Unchanged > 0 ? $", {Unchanged} unchanged" : "")}");
    }
}
