using Robustness.Validation;
namespace Robustness.Data;

/// <summary>A training set and a test set drawn independently (different seeds), e.g. by <see cref="SyntheticImageSet.TrainTest"/>.</summary>
/// <param name="Train">The training images.</param>
/// <param name="Test">The test images.</param>
public sealed record TrainTestSets(ImageSet Train, ImageSet Test);

/// <summary>
/// A small, fully deterministic RGB data set made of structured patterns: the embedded default for the demo, the
/// samples and the tests, needing no download. Classes are told apart by shape and orientation only, never by
/// colour, and every image is jittered, so a small CNN must learn spatial structure (and small l-inf perturbations
/// such as 8/255 can change its answers), yet a SmallCnn of width 16 learns it to well over 90% test accuracy in a
/// few epochs on a few thousand images.
/// </summary>
/// <remarks>
/// <para>The generative recipe. Image <c>i</c> of a set has label <c>i mod classes</c> (so classes are balanced to
/// within one image) and draws all its randomness from <c>new Random(s)</c>, where <c>s</c> mixes the set's seed with
/// <c>i</c> (SplitMix64); images are therefore independent of each other, of the set size and of threading, and the
/// same on every machine (sines are computed by <see cref="PortableMath"/>, not the platform's C library).</para>
/// <para>Pixel coordinates are <c>u = (x + 0.5) / size - 0.5</c>, <c>v = (y + 0.5) / size - 0.5</c> (the image spans
/// [-0.5, 0.5]). A pattern value <c>m(u, v)</c> in [0, 1] mixes a background colour <c>b</c> and a foreground colour
/// <c>f</c>: <c>pixel = b + (f - b) m + noise</c>, clamped to [0, 1] and rounded to 8 bits. <c>b</c> and <c>f</c> are
/// uniform in [0, 1]^3, redrawn until they are at least 0.4 apart (Euclidean); the noise is triangular, independent
/// per pixel and channel, with a half-width drawn per image in [0.05, 0.12]. Shapes have edges softened over one
/// pixel; <c>S(d) = clamp(0.5 + d * size, 0, 1)</c> for a signed distance <c>d</c> (positive inside).</para>
/// <para>The ten patterns (angles in degrees, U = uniform, jitter drawn per image):</para>
/// <list type="number">
/// <item><description><c>horizontal-grating</c>, <c>vertical-grating</c>, <c>diagonal-grating</c> (labels 0-2): a sine
/// grating <c>0.5 + 0.5 sin(2 pi k (u cos a + v sin a) + phase)</c> varying along direction a = 90, 0, or 45 or 135
/// (either diagonal, by a coin flip), plus U(-10, 10), with k = U(2.5, 4.5) cycles per image and a random phase.</description></item>
/// <item><description><c>triangle</c> (3): a filled equilateral triangle pointing up, circumradius U(0.2, 0.32),
/// rotated by U(-10, 10), centre shifted by up to 0.12.</description></item>
/// <item><description><c>checkerboard</c> (4): <c>clamp(0.5 + 2 sin(2 pi k u') sin(2 pi k v'), 0, 1)</c> in a frame rotated
/// by U(-10, 10), k = U(1.5, 2.5), random phases.</description></item>
/// <item><description><c>rings</c> (5): concentric rings <c>0.5 + 0.5 sin(2 pi k r + phase)</c>, k = U(3, 5), centre
/// shifted by up to 0.12 in u and v.</description></item>
/// <item><description><c>disc</c> (6): a filled disc of radius U(0.14, 0.28), centre shifted by up to 0.12.</description></item>
/// <item><description><c>square-frame</c> (7): a hollow square of half side U(0.2, 0.32) and line width U(0.06, 0.1),
/// rotated by U(-15, 15), centre shifted by up to 0.12.</description></item>
/// <item><description><c>cross</c> (8): a plus sign of arm length U(0.22, 0.36) and half width U(0.05, 0.09), rotated
/// by U(-15, 15), centre shifted by up to 0.12.</description></item>
/// <item><description><c>edge</c> (9): one straight soft edge (a half plane) at any angle U(0, 360), passing within
/// 0.15 of the centre.</description></item>
/// </list>
/// <para>Every class is closed under a left-right mirror (the mirror image of a diagonal grating is the other diagonal,
/// of a rotated triangle a triangle rotated the other way), so the standard flip-and-crop augmentation
/// (<see cref="ComposedAugmentation.Cifar"/>) keeps labels right. With fewer than ten classes the first ones are used.</para>
/// </remarks>
public static class SyntheticImageSet
{
    /// <summary>The names of the ten patterns; label = index.</summary>
    public static IReadOnlyList<string> AllClassNames { get; } =
    [
        "horizontal-grating", "vertical-grating", "diagonal-grating", "triangle", "checkerboard",
        "rings", "disc", "square-frame", "cross", "edge",
    ];

    private const double Degree = Math.PI / 180;

    /// <summary>
    /// Generates <paramref name="count"/> RGB images of <paramref name="size"/> x <paramref name="size"/> pixels in
    /// <paramref name="classes"/> balanced classes. The same arguments give the same bytes on every machine.
    /// </summary>
    /// <param name="count">Number of images.</param>
    /// <param name="seed">Seed of the whole set.</param>
    /// <param name="size">Side in pixels, 8 to 512.</param>
    /// <param name="classes">Number of classes, 2 to 10.</param>
    /// <param name="contrast">
    /// Scale, in (0, 1], of the foreground-background difference: <c>pixel = b + contrast (f - b) m + noise</c>. 1 is
    /// the standard set; a low contrast (e.g. 0.15) buries the shapes in the per-pixel noise, a set on which a model
    /// needs longer to learn the true classes, as on natural images, and small perturbations weigh more.
    /// </param>
    public static ImageSet Generate(int count, int seed, int size = 32, int classes = 10, double contrast = 1.0)
    {
        Require.AtLeast(count, 0, nameof(count));
        if (size is < 8 or > 512) throw new ArgumentOutOfRangeException(nameof(size), size, "size must be between 8 and 512 pixels.");
        if (classes < 2 || classes > AllClassNames.Count)
            throw new ArgumentOutOfRangeException(nameof(classes), classes, $"classes must be between 2 and {AllClassNames.Count}.");
        if (!(contrast > 0 && contrast <= 1)) throw new ArgumentOutOfRangeException(nameof(contrast), contrast, "contrast must be in (0, 1].");
        int imageBytes = 3 * size * size;
        var pixels = new byte[(long)count * imageBytes];
        var labels = new long[count];
        Parallel.For(0, count, i =>
        {
            labels[i] = i % classes;
            Render(i % classes, new Random(ImageSeed(seed, i)), size, contrast, pixels.AsSpan(i * imageBytes, imageBytes));
        });
        return new ImageSet(pixels, labels, 3, size, size, AllClassNames.Take(classes).ToArray());
    }

    /// <summary>
    /// A training set and a test set from two seeds derived from <paramref name="seed"/>, so no test image is a training image.
    /// </summary>
    /// <param name="trainCount">Training images.</param>
    /// <param name="testCount">Test images.</param>
    /// <param name="seed">Seed of both sets.</param>
    /// <param name="size">Side in pixels, 8 to 512.</param>
    /// <param name="classes">Number of classes, 2 to 10.</param>
    /// <param name="contrast">Foreground-background contrast in (0, 1] (see <see cref="Generate"/>).</param>
    public static TrainTestSets TrainTest(int trainCount, int testCount, int seed, int size = 32, int classes = 10, double contrast = 1.0)
    {
        Require.AtLeast(trainCount, 0, nameof(trainCount));
        Require.AtLeast(testCount, 0, nameof(testCount));
        return new TrainTestSets(
            Generate(trainCount, ImageSeed(seed, -1), size, classes, contrast),
            Generate(testCount, ImageSeed(seed, -2), size, classes, contrast));
    }

    // SplitMix64 finaliser of (seed, index): neighbouring seeds and indices give unrelated streams.
    private static int ImageSeed(int seed, int index)
    {
        ulong z = ((ulong)(uint)seed << 32 | (uint)index) + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (int)(z & int.MaxValue);
    }

    private static void Render(int label, Random random, int size, double contrast, Span<byte> destination)
    {
        var (background, foreground) = Colours(random);
        double noise = Uniform(random, 0.05, 0.12);
        var pattern = Pattern(label, random, size);
        int plane = size * size;
        for (int y = 0; y < size; y++)
        {
            double v = (y + 0.5) / size - 0.5;
            for (int x = 0; x < size; x++)
            {
                double u = (x + 0.5) / size - 0.5;
                double m = pattern(u, v);
                for (int c = 0; c < 3; c++)
                {
                    double value = background[c] + contrast * (foreground[c] - background[c]) * m
                        + noise * (random.NextDouble() + random.NextDouble() - 1);
                    destination[c * plane + y * size + x] = (byte)Math.Round(Math.Clamp(value, 0, 1) * 255);
                }
            }
        }
    }

    private static (double[] Background, double[] Foreground) Colours(Random random)
    {
        while (true)
        {
            double[] b = [random.NextDouble(), random.NextDouble(), random.NextDouble()];
            double[] f = [random.NextDouble(), random.NextDouble(), random.NextDouble()];
            double distance2 = (f[0] - b[0]) * (f[0] - b[0]) + (f[1] - b[1]) * (f[1] - b[1]) + (f[2] - b[2]) * (f[2] - b[2]);
            if (distance2 >= 0.16) return (b, f);
        }
    }

    private static Func<double, double, double> Pattern(int label, Random random, int size)
    {
        double Soft(double distance) => Math.Clamp(0.5 + distance * size, 0, 1);
        double cx = Uniform(random, -0.12, 0.12), cy = Uniform(random, -0.12, 0.12);
        switch (label)
        {
            case 0: case 1: case 2:
            {
                double direction = label switch { 0 => 90, 1 => 0, _ => random.NextDouble() < 0.5 ? 45 : 135 };
                double angle = (direction + Uniform(random, -10, 10)) * Degree;
                double k = Uniform(random, 2.5, 4.5), phase = Uniform(random, 0, 2 * Math.PI);
                double cos = PortableMath.Cos(angle), sin = PortableMath.Sin(angle);
                return (u, v) => 0.5 + 0.5 * PortableMath.Sin(2 * Math.PI * k * (u * cos + v * sin) + phase);
            }
            case 3:
            {
                double radius = Uniform(random, 0.2, 0.32);
                var (cos, sin) = Rotation(random, 10);
                const double Cos30 = 0.8660254037844386;
                return (u, v) =>
                {
                    // Inside distance to each edge: inradius (radius / 2) minus the projection on the edge's outward
                    // normal; v grows downwards, so the bottom edge's normal is (0, 1) and the apex is at v = -radius.
                    var (a, b) = Rotate(u - cx, v - cy, cos, sin);
                    double bottom = radius / 2 - b;
                    double left = radius / 2 - (-Cos30 * a - 0.5 * b);
                    double right = radius / 2 - (Cos30 * a - 0.5 * b);
                    return Soft(Math.Min(bottom, Math.Min(left, right)));
                };
            }
            case 4:
            {
                var (cos, sin) = Rotation(random, 10);
                double k = Uniform(random, 1.5, 2.5), pu = Uniform(random, 0, 2 * Math.PI), pv = Uniform(random, 0, 2 * Math.PI);
                return (u, v) => Math.Clamp(0.5 + 2 * PortableMath.Sin(2 * Math.PI * k * (u * cos + v * sin) + pu)
                                                   * PortableMath.Sin(2 * Math.PI * k * (v * cos - u * sin) + pv), 0, 1);
            }
            case 5:
            {
                double k = Uniform(random, 3, 5), phase = Uniform(random, 0, 2 * Math.PI);
                return (u, v) => 0.5 + 0.5 * PortableMath.Sin(2 * Math.PI * k * Radius(u - cx, v - cy) + phase);
            }
            case 6:
            {
                double radius = Uniform(random, 0.14, 0.28);
                return (u, v) => Soft(radius - Radius(u - cx, v - cy));
            }
            case 7:
            {
                double half = Uniform(random, 0.2, 0.32), line = Uniform(random, 0.06, 0.1);
                var (cos, sin) = Rotation(random, 15);
                return (u, v) =>
                {
                    var (a, b) = Rotate(u - cx, v - cy, cos, sin);
                    double box = Math.Max(Math.Abs(a), Math.Abs(b));
                    return Soft(Math.Min(half - box, box - (half - line)));
                };
            }
            case 8:
            {
                double arm = Uniform(random, 0.22, 0.36), width = Uniform(random, 0.05, 0.09);
                var (cos, sin) = Rotation(random, 15);
                return (u, v) =>
                {
                    var (a, b) = Rotate(u - cx, v - cy, cos, sin);
                    double across = Math.Min(width - Math.Abs(b), arm - Math.Abs(a));
                    double along = Math.Min(width - Math.Abs(a), arm - Math.Abs(b));
                    return Soft(Math.Max(across, along));
                };
            }
            default:
            {
                double angle = Uniform(random, 0, 2 * Math.PI), offset = Uniform(random, -0.15, 0.15);
                double cos = PortableMath.Cos(angle), sin = PortableMath.Sin(angle);
                return (u, v) => Soft(u * cos + v * sin - offset);
            }
        }
    }

    private static (double Cos, double Sin) Rotation(Random random, double maxDegrees)
    {
        double angle = Uniform(random, -maxDegrees, maxDegrees) * Degree;
        return (PortableMath.Cos(angle), PortableMath.Sin(angle));
    }

    private static (double, double) Rotate(double u, double v, double cos, double sin) => (u * cos + v * sin, v * cos - u * sin);

    private static double Radius(double du, double dv) => Math.Sqrt(du * du + dv * dv);

    private static double Uniform(Random random, double low, double high) => low + (high - low) * random.NextDouble();
}
