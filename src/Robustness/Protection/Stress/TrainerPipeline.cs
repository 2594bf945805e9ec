using System.Globalization;
using Robustness.Data;
using Robustness.Training;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace Robustness.Protection.Stress;

/// <summary>
/// What someone who trains on a protected folder does to it first: a change of the training images (applied once,
/// before training; for <see cref="AppliesToTest"/> the clean test images get it too, since the victim's model then
/// only ever sees such images) and/or a change of how the victim trains (its augmentation, adversarial training).
/// </summary>
/// <param name="Name">Short name (<c>jpeg75</c>, <c>crop-flip</c>, ...), as the CLI takes it.</param>
/// <param name="Description">One line for reports.</param>
public sealed record TrainerPipeline(string Name, string Description)
{
    /// <summary>Changes the training images (null: as they are).</summary>
    public Func<ImageSet, ImageSet>? Images { get; init; }

    /// <summary>True when the test images go through <see cref="Images"/> too.</summary>
    public bool AppliesToTest { get; init; }

    /// <summary>Changes the victim's recipe (null: the base recipe).</summary>
    public Func<VictimRecipe, VictimRecipe>? Recipe { get; init; }

    /// <summary>The training images as this pipeline hands them to the victim.</summary>
    public ImageSet PrepareTraining(ImageSet images) => Images is null ? images : Images(images);

    /// <summary>The test images as the victim is tested on them.</summary>
    public ImageSet PrepareTest(ImageSet images) => Images is null || !AppliesToTest ? images : Images(images);

    /// <summary>The victim's recipe under this pipeline.</summary>
    public VictimRecipe VictimRecipe(VictimRecipe baseRecipe) => Recipe is null ? baseRecipe : Recipe(baseRecipe);
}

/// <summary>
/// The trainer pipelines of the protection stress test (issue 12): JPEG re-encoding, a resize down and back, a
/// random resized crop with flip, grayscale, a slight blur, and adversarial training, the known counter to
/// availability poisons (Tao et al., NeurIPS 2021). Image changes use ImageSharp 2.1, as a .NET trainer would.
/// </summary>
public static class TrainerPipelines
{
    /// <summary>The names <see cref="Parse"/> knows, in the order of the stress test's table.</summary>
    public static IReadOnlyList<string> Names { get; } = ["none", "jpeg95", "jpeg85", "jpeg75", "resize2", "crop-flip", "grayscale", "blur0.5", "pgd-at"];

    /// <summary>The images as they are, the victim's own recipe.</summary>
    public static TrainerPipeline None { get; } = new("none", "no change (the victim's own random crop and flip)");

    /// <summary>Every training image saved as JPEG at <paramref name="quality"/> (ImageSharp's encoder, 4:2:0 chroma) and decoded again.</summary>
    public static TrainerPipeline Jpeg(int quality)
    {
        if (quality is < 1 or > 100) throw new ArgumentOutOfRangeException(nameof(quality), quality, "quality must be between 1 and 100.");
        var encoder = new JpegEncoder { Quality = quality, ColorType = JpegColorType.YCbCrRatio420 };
        return new($"jpeg{quality}", $"JPEG re-encoding at quality {quality}")
        {
            Images = set => Map(set, image =>
            {
                using var stream = new MemoryStream();
                image.Save(stream, encoder);
                stream.Position = 0;
                return Image.Load<Rgb24>(stream);
            }),
        };
    }

    /// <summary>Every training image shrunk by <paramref name="factor"/> and enlarged back (bilinear, anti-aliased).</summary>
    public static TrainerPipeline ResizeDownAndBack(int factor = 2)
    {
        if (factor < 2) throw new ArgumentOutOfRangeException(nameof(factor), factor, "factor must be at least 2.");
        return new($"resize{factor}", $"resize down by {factor} and back (bilinear)")
        {
            Images = set => Map(set, image =>
            {
                int w = image.Width, h = image.Height;
                image.Mutate(x => x.Resize(Math.Max(1, w / factor), Math.Max(1, h / factor), KnownResamplers.Triangle).Resize(w, h, KnownResamplers.Triangle));
                return image;
            }),
        };
    }

    /// <summary>
    /// The victim trains with torchvision's standard augmentation instead of its own: random resized crop (area 8-100%,
    /// aspect 3/4-4/3) and horizontal flip.
    /// </summary>
    public static TrainerPipeline RandomResizedCropAndFlip { get; } = new("crop-flip", "random resized crop (8-100% of the area) + flip while training")
    {
        Recipe = r => r with
        {
            Training = r.Training with { Augmentation = new ComposedAugmentation(new RandomResizedCropAugmentation(), new HorizontalFlipAugmentation(0.5)) },
        },
    };

    /// <summary>Every image, training and test, converted to grayscale (BT.709 luma) in three equal channels.</summary>
    public static TrainerPipeline Grayscale { get; } = new("grayscale", "grayscale (BT.709 luma, training and test images)")
    {
        Images = set => Map(set, image =>
        {
            image.Mutate(x => x.Grayscale());
            return image;
        }),
        AppliesToTest = true,
    };

    /// <summary>Every training image blurred by a Gaussian of standard deviation <paramref name="sigma"/> pixels.</summary>
    public static TrainerPipeline GaussianBlur(double sigma = 0.5)
    {
        if (!(sigma > 0) || sigma > 10) throw new ArgumentOutOfRangeException(nameof(sigma), sigma, "sigma must be in (0, 10] pixels.");
        return new(string.Create(CultureInfo.InvariantCulture, $"blur{sigma:0.##}"), string.Create(CultureInfo.InvariantCulture, $"Gaussian blur, sigma {sigma:0.##} px"))
        {
            Images = set => Map(set, image =>
            {
                image.Mutate(x => x.GaussianBlur((float)sigma));
                return image;
            }),
        };
    }

    /// <summary>The victim trains with PGD-AT (Madry et al.) at l-inf <paramref name="epsilon"/>, <paramref name="steps"/> steps of 2/255.</summary>
    public static TrainerPipeline PgdAdversarialTraining(double epsilon = 8.0 / 255.0, int steps = 7)
    {
        Attacks.Budget.CheckImageLinf(epsilon, nameof(epsilon));
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, "steps must be at least 1.");
        return new("pgd-at", string.Create(CultureInfo.InvariantCulture, $"PGD adversarial training, eps {Attacks.Budget.Format(epsilon)}, {steps} steps of 2/255"))
        {
            Recipe = r => r with
            {
                Objective = new PgdAdversarialObjective(PgdAdversarialObjective.MadryDefaults with { Epsilon = epsilon, Steps = steps }),
            },
        };
    }

    /// <summary>
    /// The pipeline named <paramref name="name"/> (one of <see cref="Names"/>, or <c>jpegQ</c>, <c>resizeF</c>,
    /// <c>blurS</c> with other numbers); <paramref name="pgdSteps"/> sets PGD-AT's steps. Throws
    /// <see cref="ArgumentException"/> naming the known ones.
    /// </summary>
    public static TrainerPipeline Parse(string name, int pgdSteps = 7)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        string n = name.Trim().ToLowerInvariant();
        if (n == "none") return None;
        if (n == "crop-flip") return RandomResizedCropAndFlip;
        if (n == "grayscale") return Grayscale;
        if (n == "pgd-at") return PgdAdversarialTraining(steps: pgdSteps);
        if (n.StartsWith("jpeg", StringComparison.Ordinal) && int.TryParse(n[4..], NumberStyles.None, CultureInfo.InvariantCulture, out int q) && q is >= 1 and <= 100)
            return Jpeg(q);
        if (n.StartsWith("resize", StringComparison.Ordinal) && int.TryParse(n[6..], NumberStyles.None, CultureInfo.InvariantCulture, out int f) && f >= 2)
            return ResizeDownAndBack(f);
        if (n.StartsWith("blur", StringComparison.Ordinal) && double.TryParse(n[4..], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double s) && s is > 0 and <= 10)
            return GaussianBlur(s);
        throw new ArgumentException($"Unknown trainer pipeline '{name}'; known: {string.Join(", ", Names)} (jpegQ, resizeF and blurS take other numbers).", nameof(name));
    }

    // Runs an ImageSharp change over every image of the set (RGB, channel-first bytes in and out).
    private static ImageSet Map(ImageSet set, Func<Image<Rgb24>, Image<Rgb24>> change)
    {
        if (set.Channels != RgbImage.ChannelCount)
            throw new ArgumentException($"Trainer pipelines change RGB images; the set has {set.Channels} channels.", nameof(set));
        int h = set.Height, w = set.Width, plane = h * w;
        var pixels = new byte[set.Pixels.Length];
        Parallel.For(0, set.Count, i =>
        {
            using var image = Image.LoadPixelData<Rgb24>(ImageFileReader.Interleave(set.GetImage(i), RgbImage.ChannelCount, plane), w, h);
            using var changed = change(image);
            if (changed.Width != w || changed.Height != h)
                throw new InvalidOperationException($"A trainer pipeline changed an image's size from {h}x{w} to {changed.Height}x{changed.Width}.");
            ImageFileReader.CopyChannelFirst(changed, pixels.AsSpan(i * 3 * plane, 3 * plane));
        });
        return set.WithPixels(pixels);
    }
}
