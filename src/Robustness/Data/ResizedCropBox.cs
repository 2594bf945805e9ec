namespace Robustness.Data;

/// <summary>
/// The box of a random resized crop (torchvision's rule): a share of the area uniform in [minimum, maximum], an aspect
/// ratio log-uniform in [3/4, 4/3], a position uniform over the places it fits; ten tries, then the whole image.
/// Randomness comes from <c>uniform</c> (four draws in [0, 1) per try), so callers choose their generator.
/// </summary>
internal static class ResizedCropBox
{
    private static readonly double LogMinimumAspect = Math.Log(3.0 / 4.0), LogMaximumAspect = Math.Log(4.0 / 3.0);

    /// <summary>The crop (top, left, height, width) of an image of <paramref name="height"/> x <paramref name="width"/>.</summary>
    public static (int Top, int Left, int Height, int Width) Draw(int height, int width, double minimumScale, double maximumScale, Func<double> uniform)
    {
        double area = (double)height * width;
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double share = minimumScale + uniform() * (maximumScale - minimumScale);
            double aspect = Math.Exp(LogMinimumAspect + uniform() * (LogMaximumAspect - LogMinimumAspect));
            double top = uniform(), left = uniform();
            int w = (int)Math.Round(Math.Sqrt(share * area * aspect));
            int h = (int)Math.Round(Math.Sqrt(share * area / aspect));
            if (w < 1 || h < 1 || w > width || h > height) continue;
            return (Math.Min(height - h, (int)(top * (height - h + 1))), Math.Min(width - w, (int)(left * (width - w + 1))), h, w);
        }
        // No crop of that aspect fits (a very elongated image): the whole image, as torchvision falls back to.
        return (0, 0, height, width);
    }
}
