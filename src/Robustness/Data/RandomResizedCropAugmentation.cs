using Robustness.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Robustness.Data;

/// <summary>
/// torchvision's <c>RandomResizedCrop</c> at the batch's own size: every image is cut to a random box covering a share
/// of its area drawn uniformly from [<see cref="MinimumScale"/>, <see cref="MaximumScale"/>] with an aspect ratio drawn
/// log-uniformly from [3/4, 4/3] (10 tries, then the whole image, as torchvision falls back to a centre crop of the
/// allowed ratio), and the box is resized back to H x W (bilinear, anti-aliased when it shrinks). Compose it with
/// <see cref="HorizontalFlipAugmentation"/> for torchvision's standard training pipeline.
/// </summary>
public sealed class RandomResizedCropAugmentation : IBatchAugmentation
{
    private const double MinimumAspect = 3.0 / 4.0, MaximumAspect = 4.0 / 3.0;

    /// <summary>Creates the augmentation; the scale range is a share of the image's area (torchvision: 0.08 to 1).</summary>
    public RandomResizedCropAugmentation(double minimumScale = 0.08, double maximumScale = 1.0)
    {
        if (!(minimumScale > 0) || !(maximumScale <= 1) || minimumScale > maximumScale)
            throw new ArgumentOutOfRangeException(nameof(minimumScale), minimumScale, $"The scale range must satisfy 0 < minimumScale <= maximumScale <= 1; got [{minimumScale}, {maximumScale}].");
        MinimumScale = minimumScale;
        MaximumScale = maximumScale;
    }

    /// <summary>Smallest share of the area a crop keeps.</summary>
    public double MinimumScale { get; }

    /// <summary>Largest share of the area a crop keeps.</summary>
    public double MaximumScale { get; }

    /// <inheritdoc />
    public Tensor Apply(Tensor images, Generator generator)
    {
        BatchChecks.Check(images, generator);
        long n = images.shape[0];
        int h = (int)images.shape[2], w = (int)images.shape[3];
        if (n == 0) return images.clone();
        using var scope = NewDisposeScope();
        // Ten tries of (scale, log-aspect, top, left) per image, drawn on the CPU so the generator decides them on any device.
        var draws = rand([n, 10, 4], ScalarType.Float64, CPU, generator: generator).data<double>().ToArray();
        var crops = new Tensor[n];
        for (int i = 0; i < n; i++)
        {
            var (top, left, ch, cw) = Box(draws.AsSpan(i * 40, 40), h, w);
            var crop = images.narrow(0, i, 1).narrow(2, top, ch).narrow(3, left, cw);
            crops[i] = ch == h && cw == w
                ? crop.clone()
                : F.interpolate(crop, [h, w], mode: InterpolationMode.Bilinear, align_corners: false, antialias: ch > h || cw > w);
        }
        return cat(crops, 0).clamp(Scalars.Zero, Scalars.One).MoveToOuterDisposeScope();
    }

    private (int Top, int Left, int Height, int Width) Box(ReadOnlySpan<double> tries, int height, int width)
    {
        double area = (double)height * width, logMin = Math.Log(MinimumAspect), logMax = Math.Log(MaximumAspect);
        for (int t = 0; t < 10; t++)
        {
            var d = tries.Slice(t * 4, 4);
            double share = MinimumScale + d[0] * (MaximumScale - MinimumScale);
            double aspect = Math.Exp(logMin + d[1] * (logMax - logMin));
            int cw = (int)Math.Round(Math.Sqrt(share * area * aspect));
            int ch = (int)Math.Round(Math.Sqrt(share * area / aspect));
            if (cw < 1 || ch < 1 || cw > width || ch > height) continue;
            int top = Math.Min(height - ch, (int)(d[2] * (height - ch + 1)));
            int left = Math.Min(width - cw, (int)(d[3] * (width - cw + 1)));
            return (top, left, ch, cw);
        }
        return (0, 0, height, width);
    }
}
