using Robustness.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Robustness.Protection;

/// <summary>
/// How a protector's source model sees an image it crafts for: the view a trainer's pipeline would feed its network.
/// The perturbation is kept at the image's own resolution; each crafting step maps the perturbed image to the model's
/// input size through a differentiable view and carries the model's input gradient back through it, so the image keeps
/// its size and the perturbation is the one that works after the victim's own resize.
/// <list type="bullet">
/// <item><description>Without transforms, the view stretches the whole image to the model's size (bilinear with
/// anti-aliasing when it shrinks, the resize of torchvision and PIL); every pixel is seen, and an image already at the
/// model's size is seen as it is.</description></item>
/// <item><description>With <see cref="SepOptions.ExpectationOverTransforms"/>, every step draws, per image, a random
/// resized crop (area 50-100%, aspect ratio 3/4-4/3, log-uniform) and a horizontal flip with probability 1/2, then
/// resizes it: expectation over the augmentations a trainer applies (Athalye et al., ICML 2018), so the perturbation
/// does not rely on one exact alignment between its pixels and the network's.</description></item>
/// </list>
/// Draws come from a generator seeded per batch, so the bytes depend only on the batch and the seed.
/// </summary>
internal sealed class CraftingViews
{
    /// <summary>Smallest share of the image's area a random crop keeps.</summary>
    public const double MinimumCropArea = 0.5;

    private readonly int _height;
    private readonly int _width;
    private readonly bool _random;
    private readonly Random _draws;

    private CraftingViews(int height, int width, bool random, ulong seed)
    {
        _height = height;
        _width = width;
        _random = random;
        _draws = new Random(unchecked((int)(seed ^ (seed >> 32))));
    }

    /// <summary>
    /// The views for a batch of images of <paramref name="imageHeight"/> x <paramref name="imageWidth"/> crafted against a
    /// model of <paramref name="modelSize"/> x <paramref name="modelSize"/>; null when the model sees the images as they are
    /// (same size, no transforms), which keeps the plain method's arithmetic exactly.
    /// </summary>
    public static CraftingViews? For(int modelSize, long imageHeight, long imageWidth, bool expectationOverTransforms, ulong seed) =>
        !expectationOverTransforms && imageHeight == modelSize && imageWidth == modelSize
            ? null
            : new CraftingViews(modelSize, modelSize, expectationOverTransforms, seed);

    /// <summary>One draw of the views of a batch of <paramref name="count"/> images of <paramref name="height"/> x <paramref name="width"/>.</summary>
    public ViewDraw Draw(int count, int height, int width)
    {
        var crops = new ViewDraw.Crop[count];
        for (int i = 0; i < count; i++)
            crops[i] = _random ? RandomCrop(height, width) : new ViewDraw.Crop(0, 0, height, width, false);
        return new ViewDraw(crops);
    }

    /// <summary>
    /// The gradient at the image's own resolution of a loss whose gradient at the model's input is
    /// <paramref name="gradientAtView"/>: grad_x L(V(x)) = J_V(x)^T grad L(V(x)) (V is linear, so this is exact).
    /// Created in the caller's scope.
    /// </summary>
    public Tensor Gradient(Tensor x, ViewDraw draw, Func<Tensor, Tensor> gradientAtView)
    {
        using var scope = NewDisposeScope();
        using var enable = enable_grad();
        var input = x.detach().requires_grad_(true);
        var view = Apply(input, draw);
        var atView = gradientAtView(view.detach());
        var gradient = autograd.grad([view], [input], [atView])[0];
        return gradient.detach().MoveToOuterDisposeScope();
    }

    /// <summary>The views of <paramref name="x"/> [N,C,H,W] under <paramref name="draw"/>, [N,C,h,w] at the model's size.</summary>
    public Tensor Apply(Tensor x, ViewDraw draw)
    {
        using var scope = NewDisposeScope();
        var views = new Tensor[draw.Crops.Count];
        for (int i = 0; i < views.Length; i++)
        {
            var c = draw.Crops[i];
            var image = x.narrow(0, i, 1).narrow(2, c.Top, c.Height).narrow(3, c.Left, c.Width);
            if (c.Flip) image = image.flip(3);
            views[i] = c.Height == _height && c.Width == _width
                ? image
                : F.interpolate(image, [_height, _width], mode: InterpolationMode.Bilinear, align_corners: false,
                    antialias: c.Height > _height || c.Width > _width);
        }
        return cat(views, 0).MoveToOuterDisposeScope();
    }

    private ViewDraw.Crop RandomCrop(int height, int width)
    {
        var (top, left, h, w) = Data.ResizedCropBox.Draw(height, width, MinimumCropArea, 1.0, _draws.NextDouble);
        return new ViewDraw.Crop(top, left, h, w, _draws.Next(2) == 1);
    }
}

/// <summary>The views drawn for one crafting step: per image, the crop box and whether it is flipped.</summary>
internal sealed record ViewDraw(IReadOnlyList<ViewDraw.Crop> Crops)
{
    /// <summary>A crop box in pixels of the image, and a horizontal flip.</summary>
    public readonly record struct Crop(int Top, int Left, int Height, int Width, bool Flip);
}
