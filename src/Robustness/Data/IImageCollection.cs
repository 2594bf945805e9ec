namespace Robustness.Data;

/// <summary>
/// A labelled collection of equally sized uint8 images, stored channel-first (C, H, W). <see cref="ImageSet"/>
/// holds them in memory; a streamed collection decodes them from disk on demand. Batching
/// (<see cref="ImageBatches"/>) works on either.
/// </summary>
public interface IImageCollection
{
    /// <summary>Number of images.</summary>
    int Count { get; }

    /// <summary>Channels per image (3 for RGB).</summary>
    int Channels { get; }

    /// <summary>Image height in pixels.</summary>
    int Height { get; }

    /// <summary>Image width in pixels.</summary>
    int Width { get; }

    /// <summary>Class names; a label is an index into this list.</summary>
    IReadOnlyList<string> ClassNames { get; }

    /// <summary>The label of image <paramref name="index"/>.</summary>
    long GetLabel(int index);

    /// <summary>Where image <paramref name="index"/> came from, relative to its root folder, or null.</summary>
    string? GetRelativePath(int index);

    /// <summary>Copies image <paramref name="index"/> (C*H*W bytes, channel-first) into <paramref name="destination"/>.</summary>
    void CopyImage(int index, Span<byte> destination);
}
