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
            int next = i * 40;
            var (top, left, ch, cw) = ResizedCropBox.Draw(h, w, MinimumScale, MaximumScale, () => draws[next++]);
            var crop = images.narrow(0, i, 1).narrow(2, top, ch).narrow(3, left, cw);
            crops[i] = ch == h && cw == w
                ? crop.clone()
                : F.interpolate(crop, [h, w], mode: InterpolationMode.Bilinear, align_corners: false, antialias: ch > h || cw > w);
        }
        return cat(crops, 0).clamp(Scalars.Zero, Scalars.One).MoveToOuterDisposeScope();
    }
}
