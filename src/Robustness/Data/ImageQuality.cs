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
        var x = new double[plane];
        var y = new double[plane];
        for (int c = 0; c < channels; c++)
        {
            for (int p = 0; p < plane; p++)
            {
                x[p] = original[c * plane + p];
                y[p] = changed[c * plane + p];
            }
            var muX = Filter(x, height, width, kernel, (a, _) => a, y);
            var muY = Filter(y, height, width, kernel, (a, _) => a, x);
            var xx = Filter(x, height, width, kernel, (a, _) => a * a, y);
            var yy = Filter(y, height, width, kernel, (a, _) => a * a, x);
            var xy = Filter(x, height, width, kernel, (a, b) => a * b, y);
            double sum = 0;
            for (int i = 0; i < muX.Length; i++)
            {
                double mx = muX[i], my = muY[i];
                double vx = xx[i] - mx * mx, vy = yy[i] - my * my, cxy = xy[i] - mx * my;
                sum += (2 * mx * my + C1) * (2 * cxy + C2) / ((mx * mx + my * my + C1) * (vx + vy + C2));
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

    // The separable Gaussian filter of f(a, b) over the positions where the window fits ("valid").
    private static double[] Filter(double[] a, int height, int width, double[] kernel, Func<double, double, double> f, double[] b)
    {
        int n = kernel.Length, outH = height - n + 1, outW = width - n + 1;
        var rows = new double[height * outW];
        for (int r = 0; r < height; r++)
            for (int col = 0; col < outW; col++)
            {
                double s = 0;
                for (int k = 0; k < n; k++)
                {
                    int p = r * width + col + k;
                    s += kernel[k] * f(a[p], b[p]);
                }
                rows[r * outW + col] = s;
            }
        var result = new double[outH * outW];
        for (int r = 0; r < outH; r++)
            for (int col = 0; col < outW; col++)
            {
                double s = 0;
                for (int k = 0; k < n; k++) s += kernel[k] * rows[(r + k) * outW + col];
                result[r * outW + col] = s;
            }
        return result;
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
