namespace Robustness.Data;

/// <summary>A file a folder reader could not read: its path relative to the root (forward slashes) and why.</summary>
/// <param name="RelativePath">The file, relative to the folder root, with '/' separators.</param>
/// <param name="Message">What is wrong with it (the message of the <see cref="InvalidDataException"/> reading it gave).</param>
public sealed record ImageFileError(string RelativePath, string Message);

/// <summary>The outcome of <see cref="ImageFolderReader.Read"/>: the images that could be read, the files that could not, and the files skipped.</summary>
/// <param name="Images">Every readable image, in the index's order (class by class, then by relative path, ordinal).</param>
/// <param name="Errors">The files with a supported extension that could not be read, in the same order.</param>
/// <param name="SkippedFiles">Files that are not images by their extension, or that lie outside any class folder.</param>
public sealed record ImageFolderReadResult(ImageSet Images, IReadOnlyList<ImageFileError> Errors, IReadOnlyList<string> SkippedFiles);
