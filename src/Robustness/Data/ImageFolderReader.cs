using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Robustness.Data;

/// <summary>
/// Reads a class-folder data set (<c>root/&lt;class&gt;/&lt;...&gt;/&lt;file&gt;</c>, see <see cref="ImageFolderIndex"/>) into an
/// in-memory <see cref="ImageSet"/> of RGB8 images. Unreadable files (empty, cut short, not an image, larger than
/// <see cref="ImageFolderOptions.MaxPixels"/>, at odds with the size policy) are collected with their reasons
/// while the rest is read, or stop the read when <see cref="ImageFolderOptions.Strict"/> is set. Each image keeps
/// its relative path. For folders larger than memory use <see cref="StreamedImageFolder"/>.
/// </summary>
public static class ImageFolderReader
{
    /// <summary>
    /// Reads every image under <paramref name="root"/>. The order, the result and the errors are the same whatever the
    /// number of decoding threads. Throws <see cref="InvalidDataException"/> when no image at all can be read (or,
    /// when strict, at the first unreadable file).
    /// </summary>
    public static ImageFolderReadResult Read(string root, ImageFolderOptions? options = null, CancellationToken cancellationToken = default)
    {
        options = (options ?? new ImageFolderOptions()).Validate();
        var index = ImageFolderIndex.Scan(root);
        var files = index.Files;
        if (files.Count == 0)
            throw new InvalidDataException($"Image folder '{index.Root}' has no image files ({string.Join(", ", ImageFileReader.SupportedExtensions)}) in its class folders.");

        var failures = new InvalidDataException?[files.Count];
        int first = 0;
        byte[]? firstPixels = null;
        int height = options.Size.Height, width = options.Size.Width;
        if (!options.Size.HasTargetSize)
        {
            // The first readable image sets the size for all, so it is found in order before the parallel pass.
            for (; first < files.Count && firstPixels is null; first++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                try
                {
                    using var image = ImageFileReader.Load(files[first].FullPath, files[first].RelativePath, options.MaxPixels);
                    (height, width) = (image.Height, image.Width);
                    firstPixels = new byte[3 * height * width];
                    ImageFileReader.CopyChannelFirst(image, firstPixels);
                }
                catch (InvalidDataException e)
                {
                    if (options.Strict) throw;
                    failures[first] = e;
                }
            }
            if (firstPixels is null) throw NothingRead(index, failures);
        }

        int imageBytes = 3 * height * width;
        if ((long)imageBytes * files.Count > Array.MaxLength)
            throw new InvalidDataException($"Image folder '{index.Root}' has {files.Count} images of 3x{height}x{width}: more than one in-memory image set can hold. Use StreamedImageFolder.");
        // One buffer, each image decoded straight into its slot; failed slots are squeezed out afterwards.
        var pixels = new byte[(long)imageBytes * files.Count];
        firstPixels?.CopyTo(pixels.AsSpan((first - 1) * imageBytes, imageBytes));

        var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.MaxDegreeOfParallelism, CancellationToken = cancellationToken };
        Parallel.For(first, files.Count, parallel, (i, state) =>
        {
            // Break (not Stop) guarantees every lower index still runs, so a strict read reports the first bad file.
            if (state.ShouldExitCurrentIteration && state.LowestBreakIteration < i) return;
            try
            {
                Decode(files[i], options, pixels.AsSpan(i * imageBytes, imageBytes), height, width);
            }
            catch (InvalidDataException e)
            {
                failures[i] = e;
                if (options.Strict) state.Break();
            }
        });

        var errors = new List<ImageFileError>();
        var labels = new List<long>(files.Count);
        var paths = new List<string?>(files.Count);
        for (int i = 0; i < files.Count; i++)
        {
            if (failures[i] is { } failure)
            {
                if (options.Strict) throw failure;
                errors.Add(new ImageFileError(files[i].RelativePath, failure.Message));
                continue;
            }
            if (labels.Count != i) pixels.AsSpan(i * imageBytes, imageBytes).CopyTo(pixels.AsSpan(labels.Count * imageBytes, imageBytes));
            labels.Add(files[i].Label);
            paths.Add(files[i].RelativePath);
        }
        if (labels.Count == 0) throw NothingRead(index, failures);

        var images = new ImageSet(pixels.AsSpan(0, labels.Count * imageBytes), labels.ToArray(), 3, height, width, index.ClassNames, paths);
        return new ImageFolderReadResult(images, errors, index.SkippedFiles);
    }

    private static void Decode(ImageFileEntry file, ImageFolderOptions options, Span<byte> destination, int height, int width)
    {
        using Image<Rgb24> image = ImageFileReader.Load(file.FullPath, file.RelativePath, options.MaxPixels);
        ImageFileReader.Fit(image, options.Size, height, width, file.RelativePath);
        ImageFileReader.CopyChannelFirst(image, destination);
    }

    private static InvalidDataException NothingRead(ImageFolderIndex index, InvalidDataException?[] failures)
    {
        var firstFailure = failures.First(f => f is not null)!;
        return new InvalidDataException($"No image in '{index.Root}' could be read ({failures.Count(f => f is not null)} files failed); the first: {firstFailure.Message}", firstFailure);
    }
}
