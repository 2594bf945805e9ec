using Robustness.Validation;
using static TorchSharp.torch;
using TorchSharp;

namespace Robustness.Data;

/// <summary>
/// An in-memory labelled image set: uint8 pixels, channel-first, all images the same size. Batches come out as
/// float32 tensors in [0,1] (see <see cref="ToTensor(ReadOnlySpan{int}, Device?)"/>) and labels as int64.
/// Immutable: every change returns a new set.
/// </summary>
public sealed class ImageSet : IImageCollection
{
    private readonly byte[] _pixels;
    private readonly long[] _labels;
    private readonly string?[] _paths;

    /// <summary>
    /// Creates a set from channel-first pixels (<paramref name="pixels"/>.Length = count * C * H * W) and labels in
    /// [0, classNames.Count). The arrays are copied.
    /// </summary>
    public ImageSet(ReadOnlySpan<byte> pixels, ReadOnlySpan<long> labels, int channels, int height, int width,
        IReadOnlyList<string> classNames, IReadOnlyList<string?>? relativePaths = null)
    {
        ArgumentNullException.ThrowIfNull(classNames);
        Require.AtLeast(channels, 1, nameof(channels));
        Require.AtLeast(height, 1, nameof(height));
        Require.AtLeast(width, 1, nameof(width));
        if (classNames.Count < 1) throw new ArgumentException("An image set needs at least one class name.", nameof(classNames));
        long imageBytes = (long)channels * height * width;
        if (pixels.Length != labels.Length * imageBytes)
            throw new ArgumentException($"pixels has {pixels.Length} bytes; {labels.Length} images of {channels}x{height}x{width} need {labels.Length * imageBytes}.", nameof(pixels));
        for (int i = 0; i < labels.Length; i++)
            if (labels[i] < 0 || labels[i] >= classNames.Count)
                throw new ArgumentOutOfRangeException(nameof(labels), labels[i], $"Label of image {i} must be in [0, {classNames.Count - 1}].");
        if (relativePaths is not null && relativePaths.Count != labels.Length)
            throw new ArgumentException($"relativePaths has {relativePaths.Count} entries for {labels.Length} images.", nameof(relativePaths));

        _pixels = pixels.ToArray();
        _labels = labels.ToArray();
        _paths = relativePaths?.ToArray() ?? new string?[labels.Length];
        Channels = channels;
        Height = height;
        Width = width;
        ClassNames = classNames.ToArray();
    }

    /// <inheritdoc />
    public int Count => _labels.Length;

    /// <inheritdoc />
    public int Channels { get; }

    /// <inheritdoc />
    public int Height { get; }

    /// <inheritdoc />
    public int Width { get; }

    /// <summary>Bytes per image (C * H * W).</summary>
    public int ImageBytes => Channels * Height * Width;

    /// <inheritdoc />
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>All labels.</summary>
    public ReadOnlySpan<long> Labels => _labels;

    /// <summary>All pixels, image after image, each channel-first.</summary>
    public ReadOnlySpan<byte> Pixels => _pixels;

    /// <inheritdoc />
    public long GetLabel(int index) => _labels[CheckIndex(index)];

    /// <inheritdoc />
    public string? GetRelativePath(int index) => _paths[CheckIndex(index)];

    /// <summary>The bytes of image <paramref name="index"/>.</summary>
    public ReadOnlySpan<byte> GetImage(int index) => _pixels.AsSpan(CheckIndex(index) * ImageBytes, ImageBytes);

    /// <inheritdoc />
    public void CopyImage(int index, Span<byte> destination) => GetImage(index).CopyTo(destination);

    /// <summary>Images <paramref name="indices"/> as float32 [n, C, H, W] in [0,1] on <paramref name="device"/>.</summary>
    public Tensor ToTensor(ReadOnlySpan<int> indices, Device? device = null)
    {
        var buffer = new byte[indices.Length * ImageBytes];
        for (int i = 0; i < indices.Length; i++) GetImage(indices[i]).CopyTo(buffer.AsSpan(i * ImageBytes));
        return ImageTensors.FromBytes(buffer, indices.Length, Channels, Height, Width, device);
    }

    /// <summary>Images [start, start + count) as float32 [count, C, H, W] in [0,1].</summary>
    public Tensor ToTensor(int start, int count, Device? device = null)
    {
        CheckRange(start, count);
        return ImageTensors.FromBytes(_pixels.AsSpan(start * ImageBytes, count * ImageBytes), count, Channels, Height, Width, device);
    }

    /// <summary>All images as one float32 tensor (for small sets; batch large ones).</summary>
    public Tensor ToTensor(Device? device = null) => ToTensor(0, Count, device);

    /// <summary>Labels of <paramref name="indices"/> as int64 [n].</summary>
    public Tensor LabelsTensor(ReadOnlySpan<int> indices, Device? device = null)
    {
        var values = new long[indices.Length];
        for (int i = 0; i < indices.Length; i++) values[i] = GetLabel(indices[i]);
        return torch.tensor(values, device: device ?? torch.CPU);
    }

    /// <summary>Labels [start, start + count) as int64.</summary>
    public Tensor LabelsTensor(int start, int count, Device? device = null)
    {
        CheckRange(start, count);
        return torch.tensor(_labels.AsSpan(start, count).ToArray(), device: device ?? torch.CPU);
    }

    /// <summary>A new set holding the images at <paramref name="indices"/>, in that order.</summary>
    public ImageSet Subset(IReadOnlyList<int> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        var pixels = new byte[indices.Count * ImageBytes];
        var labels = new long[indices.Count];
        var paths = new string?[indices.Count];
        for (int i = 0; i < indices.Count; i++)
        {
            GetImage(indices[i]).CopyTo(pixels.AsSpan(i * ImageBytes));
            labels[i] = _labels[indices[i]];
            paths[i] = _paths[indices[i]];
        }
        return new ImageSet(pixels, labels, Channels, Height, Width, ClassNames, paths);
    }

    /// <summary>A new set with the same labels, class names and paths but other pixels (same size).</summary>
    public ImageSet WithPixels(ReadOnlySpan<byte> pixels) => new(pixels, _labels, Channels, Height, Width, ClassNames, _paths);

    /// <summary>
    /// The same images relabelled for <paramref name="targetClassNames"/> (matched by name, ordinal): a folder
    /// read with its classes in alphabetical order can be evaluated against a model with another class order.
    /// A class of this set missing from the target raises <see cref="InvalidDataException"/>.
    /// </summary>
    public ImageSet AlignClasses(IReadOnlyList<string> targetClassNames)
    {
        ArgumentNullException.ThrowIfNull(targetClassNames);
        if (ClassNames.SequenceEqual(targetClassNames, StringComparer.Ordinal)) return this;
        var targetIndex = targetClassNames.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => (long)p.i, StringComparer.Ordinal);
        var unknown = ClassNames.Where(name => !targetIndex.ContainsKey(name)).ToArray();
        if (unknown.Length > 0)
            throw new InvalidDataException($"Classes [{string.Join(", ", unknown)}] are not among the expected classes [{string.Join(", ", targetClassNames)}].");
        var map = ClassNames.Select(name => targetIndex[name]).ToArray();
        var labels = _labels.Select(l => map[l]).ToArray();
        return new ImageSet(_pixels, labels, Channels, Height, Width, targetClassNames, _paths);
    }

    /// <summary>Loads every image of another collection (e.g. a streamed folder) into memory.</summary>
    public static ImageSet From(IImageCollection source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source is ImageSet set) return set;
        int bytes = source.Channels * source.Height * source.Width;
        var pixels = new byte[(long)source.Count * bytes];
        var labels = new long[source.Count];
        var paths = new string?[source.Count];
        for (int i = 0; i < source.Count; i++)
        {
            source.CopyImage(i, pixels.AsSpan(i * bytes, bytes));
            labels[i] = source.GetLabel(i);
            paths[i] = source.GetRelativePath(i);
        }
        return new ImageSet(pixels, labels, source.Channels, source.Height, source.Width, source.ClassNames, paths);
    }

    private int CheckIndex(int index)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index), index, $"index must be in [0, {Count - 1}].");
        return index;
    }

    private void CheckRange(int start, int count)
    {
        if (start < 0 || count < 0 || start + count > Count)
            throw new ArgumentOutOfRangeException(nameof(count), $"Range [{start}, {start + count}) is outside [0, {Count}).");
    }
}
