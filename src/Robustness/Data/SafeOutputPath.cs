namespace Robustness.Data;

/// <summary>
/// Turns a relative path from data (an image's relative path, a class name) into a file path that is guaranteed to
/// lie inside an output root, so that a crafted data set cannot make a writer overwrite files elsewhere.
/// </summary>
public static class SafeOutputPath
{
    /// <summary>
    /// The full path of <paramref name="relativePath"/> under <paramref name="outputRoot"/>. Both '/' and '\' separate
    /// folders. Throws <see cref="ArgumentException"/> when the path is empty, rooted (<c>/x</c>, <c>C:\x</c>,
    /// <c>\\server\x</c>), contains a <c>..</c> segment, or when a folder on the way already exists as a link that
    /// resolves outside the root.
    /// </summary>
    public static string Resolve(string outputRoot, string relativePath)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputRoot);
        ArgumentNullException.ThrowIfNull(relativePath);
        var segments = relativePath.Split('/', '\\');
        if (relativePath.Length == 0 || segments[^1].Length == 0)
            throw new ArgumentException($"Output path '{relativePath}' does not name a file.", nameof(relativePath));
        if (Path.IsPathRooted(relativePath) || relativePath[0] is '/' or '\\' || segments[0].Contains(':'))
            throw new ArgumentException($"Output path '{relativePath}' is rooted; only paths relative to the output root are written.", nameof(relativePath));
        if (segments.Any(s => s == ".."))
            throw new ArgumentException($"Output path '{relativePath}' contains '..'; paths may not leave the output root.", nameof(relativePath));

        string root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(outputRoot));
        string full = Path.GetFullPath(Path.Combine([root, .. segments.Where(s => s.Length > 0 && s != ".")]));
        if (!IsInside(full, root))
            throw new ArgumentException($"Output path '{relativePath}' resolves to '{full}', outside the output root '{root}'.", nameof(relativePath));

        // Existing folders on the way may be links; each must resolve inside the root (as given or as resolved).
        string realRoot = Resolved(root);
        string current = root;
        foreach (string segment in Path.GetRelativePath(root, Path.GetDirectoryName(full)!).Split(Path.DirectorySeparatorChar))
        {
            if (segment is "." or "") continue;
            current = Path.Combine(current, segment);
            if (!Directory.Exists(current) && !File.Exists(current)) break;
            var target = new DirectoryInfo(current).ResolveLinkTarget(returnFinalTarget: true);
            if (target is not null && !IsInside(target.FullName, root) && !IsInside(target.FullName, realRoot))
                throw new ArgumentException($"Output path '{relativePath}' goes through '{current}', a link to '{target.FullName}' outside the output root '{root}'.", nameof(relativePath));
        }
        return full;
    }

    private static string Resolved(string directory)
    {
        if (!Directory.Exists(directory)) return directory;
        var target = new DirectoryInfo(directory).ResolveLinkTarget(returnFinalTarget: true);
        return target is null ? directory : Path.TrimEndingDirectorySeparator(target.FullName);
    }

    private static bool IsInside(string path, string root)
    {
        var comparison = OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        path = Path.TrimEndingDirectorySeparator(path);
        return path.Equals(root, comparison) || path.StartsWith(root + Path.DirectorySeparatorChar, comparison);
    }
}
