using Robustness.IO;
namespace Robustness.Data;

/// <summary>
/// Writes 3x32x32 RGB8 images in the CIFAR binary layout (see <see cref="CifarBinaryReader"/>), e.g. to hand a
/// protected copy of CIFAR to tools that read the original files. CIFAR-100 records get the fine label twice
/// (the coarse label is not known to an <see cref="ImageSet"/>).
/// </summary>
public static class CifarBinaryWriter
{
    /// <summary>Writes <paramref name="images"/> to <paramref name="path"/> (replaced atomically: temp file, then rename).</summary>
    public static void Write(IImageCollection images, string path, CifarFormat format = CifarFormat.Cifar10)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (images.Channels != 3 || images.Height != 32 || images.Width != 32)
            throw new ArgumentException($"CIFAR records hold 3x32x32 images; these are {images.Channels}x{images.Height}x{images.Width}.", nameof(images));
        int labelBytes = CifarBinaryReader.LabelBytes(format), recordBytes = CifarBinaryReader.RecordBytes(format);
        var data = new byte[(long)images.Count * recordBytes];
        for (int i = 0; i < images.Count; i++)
        {
            long label = images.GetLabel(i);
            if (label is < 0 or > 255)
                throw new ArgumentOutOfRangeException(nameof(images), label, $"Label of image {i} must be in [0, 255] to fit a CIFAR label byte.");
            int offset = i * recordBytes;
            data.AsSpan(offset, labelBytes).Fill((byte)label);
            images.CopyImage(i, data.AsSpan(offset + labelBytes, CifarBinaryReader.ImageBytes));
        }
        string fullPath = Path.GetFullPath(path);
        AtomicFile.Write(fullPath, stream => stream.Write(data));
    }
}
