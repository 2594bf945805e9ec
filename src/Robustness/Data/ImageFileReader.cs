using Robustness.Validation;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace Robustness.Data;

/// <summary>
/// Decodes one image file (PNG, JPEG, BMP, GIF or WebP) to 8-bit RGB. The format is recognised from the file's
/// content, so a JPEG saved as <c>.png</c> still reads; the extension only decides which files a folder reader
/// looks at (<see cref="SupportedExtensions"/>).
/// </summary>
/// <remarks>
/// Conversions to RGB8: grayscale is copied to all three channels; palette images are expanded; 16-bit samples are
/// scaled to 8 bits with rounding; an alpha channel is <b>discarded</b>: the stored colour values are kept as they
/// are, not blended onto a background (a fully transparent pixel keeps whatever colour the file stores for it).
/// Animated GIF/WebP files give their first frame. EXIF orientation is not applied. Files that decoders would
/// silently accept although they are cut short (a JPEG with no end-of-image marker after its last scan, a PNG
/// with no IEND chunk) are rejected. Every failure is an <see cref="InvalidDataException"/> naming the file.
/// </remarks>
public static class ImageFileReader
{
    /// <summary>The default limit on width * height (8192 x 8192), guarding memory against hostile or huge files.</summary>
    public const long DefaultMaxPixels = 1L << 26;

    /// <summary>The extensions (lower case, with the dot) of files that folder readers decode; others are skipped.</summary>
    public static IReadOnlyList<string> SupportedExtensions { get; } = [".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"];

    // Only the five supported decoders: ImageSharp's default configuration also knows TGA, TIFF and PBM.
    private static readonly Configuration Decoders = CreateDecoders();

    private static Configuration CreateDecoders()
    {
        var configuration = new Configuration(
            new PngConfigurationModule(), new JpegConfigurationModule(), new BmpConfigurationModule(),
            new GifConfigurationModule(), new WebpConfigurationModule());
        // Only the first frame of an animated GIF is used, so the others are not decoded (memory, time).
        configuration.ImageFormatsManager.SetDecoder(GifFormat.Instance, new GifDecoder { DecodingMode = SixLabors.ImageSharp.Metadata.FrameDecodingMode.First });
        return configuration;
    }

    /// <summary>True when <paramref name="path"/> ends with one of <see cref="SupportedExtensions"/> (any case).</summary>
    public static bool HasSupportedExtension(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string extension = Path.GetExtension(path);
        return SupportedExtensions.Any(e => e.Equals(extension, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// Reads one image file as RGB8 and applies <paramref name="size"/> (<see cref="SizePolicy.MatchFirst"/>, the
    /// default, keeps the image's own size). Throws <see cref="InvalidDataException"/> naming the file when it is
    /// empty, cut short, not an image, larger than <paramref name="maxPixels"/> or at odds with the size policy.
    /// </summary>
    public static RgbImage Read(string path, SizePolicy? size = null, long maxPixels = DefaultMaxPixels)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        CheckMaxPixels(maxPixels);
        string fullPath = Path.GetFullPath(path);
        using var image = Load(fullPath, fullPath, maxPixels);
        size ??= SizePolicy.MatchFirst;
        int height = size.HasTargetSize ? size.Height : image.Height;
        int width = size.HasTargetSize ? size.Width : image.Width;
        Fit(image, size, height, width, fullPath);
        var pixels = new byte[3 * height * width];
        CopyChannelFirst(image, pixels);
        return new RgbImage(height, width, pixels);
    }

    internal static void CheckMaxPixels(long maxPixels)
    {
        Require.AtLeast(maxPixels, 1, nameof(maxPixels));
    }

    /// <summary>Decodes <paramref name="fullPath"/>; errors name <paramref name="displayPath"/>.</summary>
    internal static Image<Rgb24> Load(string fullPath, string displayPath, long maxPixels)
    {
        byte[] data;
        try
        {
            data = File.ReadAllBytes(fullPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Fail(displayPath, $"the file cannot be opened ({e.Message})", e);
        }
        if (data.Length == 0) throw Fail(displayPath, "the file is empty (0 bytes)");

        var format = Image.DetectFormat(Decoders, data);
        if (format is null)
            throw Fail(displayPath, $"not a PNG, JPEG, BMP, GIF or WebP image ({data.Length} bytes of unrecognised content)");
        string? truncation = FindTruncation(data, format);
        if (truncation is not null) throw Fail(displayPath, truncation);
        IImageInfo? info;
        try
        {
            info = Image.Identify(Decoders, data, out _);
        }
        catch (Exception e) when (e is ImageFormatException or NotSupportedException or InvalidDataException)
        {
            throw Fail(displayPath, $"the {format.Name} header is damaged ({e.Message})", e);
        }
        if (info is null) throw Fail(displayPath, $"the {format.Name} header cannot be read");
        if ((long)info.Width * info.Height > maxPixels)
            throw Fail(displayPath, $"the image is {info.Height}x{info.Width} = {(long)info.Width * info.Height} pixels, more than MaxPixels = {maxPixels}");

        try
        {
            var image = Image.Load<Rgb24>(Decoders, data);
            while (image.Frames.Count > 1) image.Frames.RemoveFrame(image.Frames.Count - 1); // animations: keep the first frame
            return image;
        }
        catch (Exception e) when (e is ImageFormatException or NotSupportedException or InvalidDataException or IndexOutOfRangeException or ArgumentException)
        {
            throw Fail(displayPath, $"the {format.Name} data cannot be decoded ({e.Message})", e);
        }
    }

    /// <summary>Reads only the header of <paramref name="fullPath"/> to learn its size; null when it is not a readable image.</summary>
    internal static (int Height, int Width)? TryIdentify(string fullPath)
    {
        try
        {
            using var stream = File.OpenRead(fullPath);
            var info = Image.Identify(Decoders, stream);
            return info is null ? null : (info.Height, info.Width);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ImageFormatException or NotSupportedException)
        {
            return null;
        }
    }

    /// <summary>Brings <paramref name="image"/> to <paramref name="height"/> x <paramref name="width"/> as <paramref name="policy"/> says.</summary>
    internal static void Fit(Image<Rgb24> image, SizePolicy policy, int height, int width, string displayPath)
    {
        switch (policy.Mode)
        {
            case SizeMode.MatchFirst:
            case SizeMode.Require:
                if (image.Height != height || image.Width != width)
                    throw Fail(displayPath, $"the image is {image.Height}x{image.Width} (height x width) but the size policy {Describe(policy, height, width)} needs {height}x{width}");
                break;
            case SizeMode.Resize:
                if (image.Height != height || image.Width != width)
                    image.Mutate(x => x.Resize(new ResizeOptions { Size = new Size(width, height), Mode = ResizeMode.Stretch, Sampler = KnownResamplers.Triangle }));
                break;
            case SizeMode.CenterCrop:
                if (image.Height < height || image.Width < width)
                    throw Fail(displayPath, $"the image is {image.Height}x{image.Width} (height x width), smaller than the {height}x{width} centre crop");
                Crop(image, height, width);
                break;
            case SizeMode.ResizeShorterThenCenterCrop:
                double scale = Math.Max((double)height / image.Height, (double)width / image.Width);
                int coverHeight = Math.Max(height, (int)Math.Round(image.Height * scale));
                int coverWidth = Math.Max(width, (int)Math.Round(image.Width * scale));
                if (coverHeight != image.Height || coverWidth != image.Width)
                    image.Mutate(x => x.Resize(new ResizeOptions { Size = new Size(coverWidth, coverHeight), Mode = ResizeMode.Stretch, Sampler = KnownResamplers.Triangle }));
                Crop(image, height, width);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(policy), policy.Mode, "Unknown size mode.");
        }
    }

    /// <summary>Copies an RGB image into channel-first bytes (all R, then all G, then all B).</summary>
    internal static void CopyChannelFirst(Image<Rgb24> image, Span<byte> destination)
    {
        int height = image.Height, width = image.Width, plane = height * width;
        if (destination.Length < 3 * plane)
            throw new ArgumentException($"destination has {destination.Length} bytes; a 3x{height}x{width} image needs {3 * plane}.", nameof(destination));
        var interleaved = new byte[3 * plane];
        image.CopyPixelDataTo(interleaved);
        for (int i = 0; i < plane; i++)
        {
            destination[i] = interleaved[3 * i];
            destination[plane + i] = interleaved[3 * i + 1];
            destination[2 * plane + i] = interleaved[3 * i + 2];
        }
    }

    /// <summary>
    /// The inverse of <see cref="CopyChannelFirst"/> for any channel count: channel-first bytes (all of channel 0, then
    /// channel 1, ...) as the interleaved pixel bytes ImageSharp loads.
    /// </summary>
    internal static byte[] Interleave(ReadOnlySpan<byte> channelFirst, int channels, int plane)
    {
        var interleaved = new byte[channels * plane];
        for (int c = 0; c < channels; c++)
        for (int i = 0; i < plane; i++)
            interleaved[i * channels + c] = channelFirst[c * plane + i];
        return interleaved;
    }

    internal static InvalidDataException Fail(string displayPath, string reason, Exception? inner = null) =>
        new($"Cannot read image '{displayPath}': {reason}.", inner);

    private static string Describe(SizePolicy policy, int height, int width) =>
        policy.HasTargetSize ? policy.ToString() : $"{policy.Mode} (the first image is {height}x{width})";

    private static void Crop(Image<Rgb24> image, int height, int width)
    {
        if (image.Height == height && image.Width == width) return;
        int top = (image.Height - height) / 2, left = (image.Width - width) / 2;
        image.Mutate(x => x.Crop(new Rectangle(left, top, width, height)));
    }

    /// <summary>
    /// Decoders fill a cut-short JPEG or PNG with grey and report nothing; a training set should not silently hold
    /// half-grey images, so the end markers are checked here. Returns why the data is incomplete, or null.
    /// </summary>
    private static string? FindTruncation(ReadOnlySpan<byte> data, IImageFormat format)
    {
        if (format is JpegFormat)
        {
            // Entropy-coded data escapes 0xFF, so markers are unambiguous: the image must end (EOI, FF D9) after its
            // last scan starts (SOS, FF DA). Embedded thumbnails come earlier in the file and do not matter.
            int lastScan = data.LastIndexOf((ReadOnlySpan<byte>)[0xFF, 0xDA]);
            int end = data.LastIndexOf((ReadOnlySpan<byte>)[0xFF, 0xD9]);
            if (lastScan < 0) return "truncated JPEG (no start-of-scan marker: the file ends before any image data)";
            if (end < lastScan) return $"truncated JPEG (no end-of-image marker after the last scan; the file is {data.Length} bytes, cut short?)";
        }
        else if (format is PngFormat)
        {
            ReadOnlySpan<byte> iend = [0, 0, 0, 0, (byte)'I', (byte)'E', (byte)'N', (byte)'D'];
            if (data.LastIndexOf(iend) < 0) return $"truncated PNG (no IEND chunk; the file is {data.Length} bytes, cut short?)";
        }
        return null;
    }
}
