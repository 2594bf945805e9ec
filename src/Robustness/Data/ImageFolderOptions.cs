using Robustness.Validation;
namespace Robustness.Data;

/// <summary>How a class-folder reader (<see cref="ImageFolderReader"/>, <see cref="StreamedImageFolder"/>) decodes its images.</summary>
public sealed record ImageFolderOptions
{
    /// <summary>The size rule; the default requires every image to have the first image's size.</summary>
    public SizePolicy Size { get; init; } = SizePolicy.MatchFirst;

    /// <summary>Largest accepted width * height; bigger images are reported as errors (default 8192 x 8192).</summary>
    public long MaxPixels { get; init; } = ImageFileReader.DefaultMaxPixels;

    /// <summary>
    /// When true, reading stops with an <see cref="InvalidDataException"/> at the first file (in the reader's order)
    /// that cannot be read; when false (the default) such files are collected in
    /// <see cref="ImageFolderReadResult.Errors"/> and the rest is read.
    /// </summary>
    public bool Strict { get; init; }

    /// <summary>Decoding threads for <see cref="ImageFolderReader"/>; -1 (the default) uses every core. The result does not depend on it.</summary>
    public int MaxDegreeOfParallelism { get; init; } = -1;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first option out of range.</summary>
    public ImageFolderOptions Validate()
    {
        if (Size is null) throw new ArgumentOutOfRangeException(nameof(Size), "Size must be a SizePolicy (e.g. SizePolicy.MatchFirst).");
        Require.AtLeast(MaxPixels, 1, nameof(MaxPixels));
        if (MaxDegreeOfParallelism is 0 or < -1)
            throw new ArgumentOutOfRangeException(nameof(MaxDegreeOfParallelism), MaxDegreeOfParallelism, "MaxDegreeOfParallelism must be -1 (all cores) or >= 1.");
        return this;
    }
}
