using Robustness.Validation;
using Robustness.IO;
using System.Globalization;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace Robustness.Data;

/// <summary>
/// Writes images losslessly as 8-bit PNG under an output root: reading the files back gives the same bytes. Each
/// image goes to its relative path with the extension changed to <c>.png</c> (<c>cat/1.jpg</c> becomes
/// <c>cat/1.png</c>); an image without one goes to <c>&lt;class name&gt;/&lt;index:D6&gt;.png</c>. Paths are checked
/// with <see cref="SafeOutputPath"/>, so nothing is written outside the root, folders are created as needed, and
/// each file is replaced atomically (a temporary file in the same folder, then a rename), so an interrupted run
/// never leaves a half-written image.
/// </summary>
public static class PngImageWriter
{
    /// <summary>
    /// Writes every image of <paramref name="images"/> (1 channel: grayscale PNG; 3: RGB; 4: RGBA) and returns the
    /// relative paths written, in image order. Throws <see cref="ArgumentException"/> before writing anything when two
    /// images would go to the same file or a path would leave the root.
    /// </summary>
    public static IReadOnlyList<string> Write(IImageCollection images, string outputRoot, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentException.ThrowIfNullOrEmpty(outputRoot);
        CheckChannels(images.Channels);
        var relative = new string[images.Count];
        var full = new string[images.Count];
        var seen = new Dictionary<string, int>(OperatingSystem.IsLinux() ? StringComparer.Ordinal : StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < images.Count; i++)
        {
            relative[i] = OutputPathOf(images, i);
            full[i] = SafeOutputPath.Resolve(outputRoot, relative[i]);
            if (!seen.TryAdd(full[i], i))
                throw new ArgumentException($"Images {seen[full[i]]} and {i} would both be written to '{relative[i]}'.", nameof(images));
        }
        var pixels = new byte[images.Channels * images.Height * images.Width];
        for (int i = 0; i < images.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            images.CopyImage(i, pixels);
            WriteFile(full[i], pixels, images.Channels, images.Height, images.Width);
        }
        return relative;
    }

    /// <summary>
    /// Writes one channel-first image (<paramref name="pixels"/>.Length = C * H * W) to <paramref name="relativePath"/>
    /// under <paramref name="outputRoot"/> (its extension becomes <c>.png</c>); returns the full path written.
    /// </summary>
    public static string WriteImage(ReadOnlySpan<byte> pixels, int channels, int height, int width, string outputRoot, string relativePath)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputRoot);
        ArgumentException.ThrowIfNullOrEmpty(relativePath);
        CheckChannels(channels);
        Require.AtLeast(height, 1, nameof(height));
        Require.AtLeast(width, 1, nameof(width));
        if (pixels.Length != channels * height * width)
            throw new ArgumentException($"pixels has {pixels.Length} bytes; a {channels}x{height}x{width} image needs {channels * height * width}.", nameof(pixels));
        string full = SafeOutputPath.Resolve(outputRoot, ToPng(relativePath));
        WriteFile(full, pixels, channels, height, width);
        return full;
    }

    /// <summary>Where image <paramref name="index"/> of <paramref name="images"/> goes, relative to the output root.</summary>
    public static string OutputPathOf(IImageCollection images, int index)
    {
        ArgumentNullException.ThrowIfNull(images);
        string? path = images.GetRelativePath(index);
        if (!string.IsNullOrEmpty(path)) return ToPng(path);
        string className = images.ClassNames[(int)images.GetLabel(index)];
        return $"{className}/{index.ToString("D6", CultureInfo.InvariantCulture)}.png";
    }

    private static string ToPng(string relativePath)
    {
        string name = relativePath[(relativePath.LastIndexOfAny(['/', '\\']) + 1)..];
        if (name.Length == 0 || name == "." || name == "..")
            throw new ArgumentException($"Output path '{relativePath}' does not name a file.", nameof(relativePath));
        return Path.GetExtension(name).Equals(".png", StringComparison.OrdinalIgnoreCase) ? relativePath : Path.ChangeExtension(relativePath, ".png");
    }

    private static void CheckChannels(int channels)
    {
        if (channels is not (1 or 3 or 4))
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "PNG images are written with 1 (grayscale), 3 (RGB) or 4 (RGBA) channels.");
    }

    private static void WriteFile(string fullPath, ReadOnlySpan<byte> channelFirst, int channels, int height, int width)
    {
        var interleaved = ImageFileReader.Interleave(channelFirst, channels, height * width);
        using Image image = channels switch
        {
            1 => Image.LoadPixelData<L8>(interleaved, width, height),
            3 => Image.LoadPixelData<Rgb24>(interleaved, width, height),
            _ => Image.LoadPixelData<Rgba32>(interleaved, width, height),
        };
        // Explicit colour type and depth: left to itself the encoder may choose a palette, which is lossy for >256 colours.
        var encoder = new PngEncoder
        {
            BitDepth = PngBitDepth.Bit8,
            ColorType = channels switch { 1 => PngColorType.Grayscale, 3 => PngColorType.Rgb, _ => PngColorType.RgbWithAlpha },
            TransparentColorMode = PngTransparentColorMode.Preserve,
        };
        AtomicFile.Write(fullPath, stream => image.Save(stream, encoder));
    }
}
