using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.PixelFormats;

namespace Robustness.Tests.Data;

/// <summary>A fresh folder under the system temp folder, deleted on dispose.</summary>
public sealed class TempFolder : IDisposable
{
    public TempFolder() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "robustness-data-" + Guid.NewGuid().ToString("N"));

    public string File(string relative)
    {
        string full = System.IO.Path.Combine(Path, relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        return full;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Makes small test images and writes them in every supported format.</summary>
public static class TestFiles
{
    /// <summary>A deterministic RGB image: every pixel differs, channels differ.</summary>
    public static Image<Rgb24> Gradient(int height, int width, int salt = 0)
    {
        var image = new Image<Rgb24>(width, height);
        for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
            image[x, y] = new Rgb24((byte)(x * 7 + y * 3 + salt), (byte)(x * 5 + 40 + salt * 3), (byte)(y * 11 + 9 + salt * 5));
        return image;
    }

    /// <summary>Channel-first bytes of an RGB image, as an ImageSet stores it.</summary>
    public static byte[] ChannelFirst(Image<Rgb24> image)
    {
        int plane = image.Width * image.Height;
        var result = new byte[3 * plane];
        for (int y = 0; y < image.Height; y++)
        for (int x = 0; x < image.Width; x++)
        {
            var p = image[x, y];
            int i = y * image.Width + x;
            result[i] = p.R;
            result[plane + i] = p.G;
            result[2 * plane + i] = p.B;
        }
        return result;
    }

    public static IImageEncoder EncoderFor(string extension) => extension.ToLowerInvariant() switch
    {
        ".png" => new PngEncoder { ColorType = PngColorType.Rgb, BitDepth = PngBitDepth.Bit8 },
        ".jpg" or ".jpeg" => new JpegEncoder { Quality = 95 },
        ".bmp" => new BmpEncoder { BitsPerPixel = BmpBitsPerPixel.Pixel24 },
        ".gif" => new GifEncoder(),
        ".webp" => new WebpEncoder { FileFormat = WebpFileFormatType.Lossless },
        _ => throw new ArgumentOutOfRangeException(nameof(extension), extension, "no encoder"),
    };

    public static string Save(Image image, string path, IImageEncoder? encoder = null)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        image.Save(path, encoder ?? EncoderFor(Path.GetExtension(path)));
        return path;
    }

    /// <summary>A JPEG cut to half its length (no end-of-image marker).</summary>
    public static string TruncatedJpeg(string path)
    {
        using var image = Gradient(32, 32);
        using var stream = new MemoryStream();
        image.Save(stream, new JpegEncoder { Quality = 90 });
        var bytes = stream.ToArray();
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes.AsSpan(0, bytes.Length / 2).ToArray());
        return path;
    }

    public static double MeanAbsoluteDifference(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        if (a.Length != b.Length) throw new ArgumentException("lengths differ");
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum += Math.Abs(a[i] - b[i]);
        return sum / a.Length;
    }
}
