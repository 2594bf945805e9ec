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
        var decoded = new byte[files.Count][];
        int first = 0;
        int height = options.Size.Height, width = options.Size.Width;
        if (!options.Size.HasTargetSize)
        {
            // The first readable image sets the size for all, so it is found in order before the parallel pass.
            for (; first < files.Count; first++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                try
                {
                    using var image = ImageFileReader.Load(files[first].FullPath, files[first].RelativePath, options.MaxPixels);
                    (height, width) = (image.Height, image.Width);
                    decoded[first] = new byte[3 * height * width];
                    ImageFileReader.CopyChannelFirst(image, decoded[first]);
                    break;
                }
                catch (InvalidDataException e)
                {
                    if (options.Strict) throw;
                    failures[first] = e;
                }
            }
            if (first == files.Count) throw NothingRead(index, failures);
            first++;
        }

        var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.MaxDegreeOfParallelism, CancellationToken = cancellationToken };
        Parallel.For(first, files.Count, parallel, (i, state) =>
        {
            // Break (not Stop) guarantees every lower index still runs, so a strict read reports the first bad file.
            if (state.ShouldExitCurrentIteration && state.LowestBreakIteration < i) return;
            try
            {
                decoded[i] = Decode(files[i], options, height, width);
            }
            catch (InvalidDataException e)
            {
                failures[i] = e;
                if (options.Strict) state.Break();
            }
        });

        var errors = new List<ImageFileError>();
        for (int i = 0; i < files.Count; i++)
        {
            if (failures[i] is not { } failure) continue;
            if (options.Strict) throw failure;
            errors.Add(new ImageFileError(files[i].RelativePath, failure.Message));
        }
        if (errors.Count == files.Count) throw NothingRead(index, failures);

        int imageBytes = 3 * height * width;
        int count = files.Count - errors.Count;
        var pixels = new byte[(long)count * imageBytes];
        var labels = new long[count];
        var paths = new string?[count];
        for (int i = 0, j = 0; i < files.Count; i++)
        {
            if (decoded[i] is null) continue;
            decoded[i].CopyTo(pixels.AsSpan(j * imageBytes, imageBytes));
            labels[j] = files[i].Label;
            paths[j] = files[i].RelativePath;
            j++;
        }
        var images = new ImageSet(pixels, labels, 3, height, width, index.ClassNames, paths);
        return new ImageFolderReadResult(images, errors, index.SkippedFiles);
    }

    internal static byte[] Decode(ImageFileEntry file, ImageFolderOptions options, int height, int width)
    {
        using Image<Rgb24> image = ImageFileReader.Load(file.FullPath, file.RelativePath, options.MaxPixels);
        ImageFileReader.Fit(image, options.Size, height, width, file.RelativePath);
        var pixels = new byte[3 * height * width];
        ImageFileReader.CopyChannelFirst(image, pixels);
        return pixels;
    }

    private static InvalidDataException NothingRead(ImageFolderIndex index, InvalidDataException?[] failures)
    {
        var firstFailure = failures.First(f => f is not null)!;
        return new InvalidDataException($"No image in '{index.Root}' could be read ({failures.Count(f => f is not null)} files failed); the first: {firstFailure.Message}", firstFailure);
    }
}
