using Robustness.Data;

namespace Robustness.Cli;

/// <summary>Loads the images a command works on: a class-folder tree, or the embedded synthetic set.</summary>
public static class DataSources
{
    /// <summary>
    /// Reads a class-folder tree (root/&lt;class&gt;/image). Unreadable files are listed on <paramref name="error"/>
    /// and skipped; a folder with no readable image is an error.
    /// </summary>
    public static ImageSet ReadFolder(string folder, TextWriter error, int? size = null)
    {
        if (!Directory.Exists(folder)) throw new UsageException($"--data folder '{folder}' does not exist.");
        var options = new ImageFolderOptions { Size = size is int s ? SizePolicy.Resize(s, s) : SizePolicy.MatchFirst };
        var result = ImageFolderReader.Read(folder, options);
        foreach (var failure in result.Errors) error.WriteLine($"warning: skipped {failure.RelativePath}: {failure.Message}");
        if (result.Images.Count == 0)
            throw new InvalidDataException($"'{folder}' holds no readable image in class folders (expected {folder}/<class>/<image>).");
        return result.Images;
    }
}
