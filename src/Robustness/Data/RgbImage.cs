using Robustness.Validation;
namespace Robustness.Data;

/// <summary>One decoded RGB image: 8-bit pixels, channel-first (3 x H x W), as an <see cref="ImageSet"/> stores them.</summary>
public sealed class RgbImage
{
    /// <summary>Wraps channel-first pixels (<paramref name="pixels"/>.Length = 3 * height * width); the array is not copied.</summary>
    public RgbImage(int height, int width, byte[] pixels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        Require.AtLeast(height, 1, nameof(height));
        Require.AtLeast(width, 1, nameof(width));
        if (pixels.Length != 3L * height * width)
            throw new ArgumentException($"pixels has {pixels.Length} bytes; a 3x{height}x{width} image needs {3L * height * width}.", nameof(pixels));
        Height = height;
        Width = width;
        Pixels = pixels;
    }

    /// <summary>Channels of every RGB image: 3 (red, green, blue).</summary>
    public const int ChannelCount = 3;

    /// <summary>Always <see cref="ChannelCount"/>.</summary>
    public int Channels => ChannelCount;

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Channel-first pixels: all red values row by row, then green, then blue.</summary>
    public byte[] Pixels { get; }
}
