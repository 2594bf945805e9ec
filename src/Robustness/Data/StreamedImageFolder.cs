namespace Robustness.Data;

/// <summary>
/// A class-folder data set that stays on disk: the files are listed (paths and labels, see
/// <see cref="ImageFolderIndex"/>) when it is opened, and each image is decoded when it is asked for
/// (<see cref="CopyImage"/>), so folders larger than memory can be batched with <see cref="ImageBatches"/>.
/// Decoding follows <see cref="ImageFolderOptions.Size"/> and <see cref="ImageFolderOptions.MaxPixels"/> as
/// <see cref="ImageFolderReader"/> does; a file that cannot be decoded raises <see cref="InvalidDataException"/>
/// naming it at the time it is read (<see cref="ImageFolderOptions.Strict"/> does not apply: there is no list to
/// collect errors in). Safe to read from several threads at once.
/// </summary>
public sealed class StreamedImageFolder : IImageCollection
{
    private readonly ImageFolderOptions _options;

    private StreamedImageFolder(ImageFolderIndex index, ImageFolderOptions options, int height, int width)
    {
        Index = index;
        _options = options;
        Height = height;
        Width = width;
    }

    /// <summary>
    /// Lists <paramref name="root"/>. With <see cref="SizePolicy.MatchFirst"/> the image size is taken from the header
    /// of the first file (in index order) whose header can be read; no pixels are decoded here.
    /// </summary>
    public static StreamedImageFolder Open(string root, ImageFolderOptions? options = null)
    {
        options = (options ?? new ImageFolderOptions()).Validate();
        var index = ImageFolderIndex.Scan(root);
        if (index.Files.Count == 0)
            throw new InvalidDataException($"Image folder '{index.Root}' has no image files ({string.Join(", ", ImageFileReader.SupportedExtensions)}) in its class folders.");
        if (options.Size.HasTargetSize) return new StreamedImageFolder(index, options, options.Size.Height, options.Size.Width);
        foreach (var file in index.Files)
            if (ImageFileReader.TryIdentify(file.FullPath) is { } size)
                return new StreamedImageFolder(index, options, size.Height, size.Width);
        throw new InvalidDataException($"No file in image folder '{index.Root}' has a readable image header ({index.Files.Count} files tried), so the image size is unknown.");
    }

    /// <summary>The listed files (root, class names, relative paths, labels, skipped files).</summary>
    public ImageFolderIndex Index { get; }

    /// <inheritdoc />
    public int Count => Index.Files.Count;

    /// <inheritdoc />
    public int Channels => 3;

    /// <inheritdoc />
    public int Height { get; }

    /// <inheritdoc />
    public int Width { get; }

    /// <inheritdoc />
    public IReadOnlyList<string> ClassNames => Index.ClassNames;

    /// <inheritdoc />
    public long GetLabel(int index) => File(index).Label;

    /// <inheritdoc />
    public string? GetRelativePath(int index) => File(index).RelativePath;

    /// <summary>
    /// Decodes image <paramref name="index"/> into <paramref name="destination"/> (3 * H * W bytes, channel-first).
    /// Throws <see cref="InvalidDataException"/> naming the file when it cannot be decoded or does not fit the size policy.
    /// </summary>
    public void CopyImage(int index, Span<byte> destination)
    {
        var file = File(index);
        int bytes = 3 * Height * Width;
        if (destination.Length < bytes)
            throw new ArgumentException($"destination has {destination.Length} bytes; an image needs {bytes}.", nameof(destination));
        var policy = _options.Size;
        using var image = ImageFileReader.Load(file.FullPath, file.FullPath, _options.MaxPixels);
        ImageFileReader.Fit(image, policy, Height, Width, file.FullPath);
        ImageFileReader.CopyChannelFirst(image, destination);
    }

    private ImageFileEntry File(int index)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index), index, $"index must be in [0, {Count - 1}].");
        return Index.Files[index];
    }
}
