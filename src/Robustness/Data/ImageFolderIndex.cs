namespace Robustness.Data;

/// <summary>One image file of a class folder: where it is and which class it belongs to.</summary>
/// <param name="RelativePath">Path relative to the root, '/' separators: <c>class/sub/file.png</c>.</param>
/// <param name="FullPath">Absolute path on this machine.</param>
/// <param name="Label">Index of its class in <see cref="ImageFolderIndex.ClassNames"/>.</param>
public sealed record ImageFileEntry(string RelativePath, string FullPath, int Label);

/// <summary>
/// The file list of a class-folder data set: <c>root/&lt;class&gt;/&lt;any sub folders&gt;/&lt;file&gt;</c>. Class names
/// are the root's sub folder names sorted ordinally, a label is a class's index, and files are ordered class by
/// class, then by relative path (ordinal), so the order is the same on every machine. Only files with a
/// supported extension (<see cref="ImageFileReader.SupportedExtensions"/>) are listed; the rest are in
/// <see cref="SkippedFiles"/>. Hidden entries (names starting with '.') are ignored; empty class folders still
/// count as classes, so labels stay stable.
/// </summary>
public sealed class ImageFolderIndex
{
    private ImageFolderIndex(string root, IReadOnlyList<string> classNames, IReadOnlyList<ImageFileEntry> files, IReadOnlyList<string> skipped)
    {
        Root = root;
        ClassNames = classNames;
        Files = files;
        SkippedFiles = skipped;
    }

    /// <summary>The root folder, as an absolute path.</summary>
    public string Root { get; }

    /// <summary>Class names (sub folder names, ordinal order); a label is an index into this list.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>The image files, in deterministic order.</summary>
    public IReadOnlyList<ImageFileEntry> Files { get; }

    /// <summary>Files left out (relative paths): unsupported extensions, or files directly in the root.</summary>
    public IReadOnlyList<string> SkippedFiles { get; }

    /// <summary>Lists <paramref name="root"/>. Throws <see cref="DirectoryNotFoundException"/> when it does not exist and
    /// <see cref="InvalidDataException"/> when it has no class sub folders.</summary>
    public static ImageFolderIndex Scan(string root)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        string fullRoot = Path.GetFullPath(root);
        if (!Directory.Exists(fullRoot)) throw new DirectoryNotFoundException($"Image folder '{fullRoot}' does not exist.");

        var visible = new EnumerationOptions { AttributesToSkip = 0, IgnoreInaccessible = true, RecurseSubdirectories = false };
        var classDirectories = Directory.EnumerateDirectories(fullRoot, "*", visible)
            .Where(d => !IsHidden(Path.GetFileName(d)))
            .Order(StringComparer.Ordinal)
            .ToArray();
        if (classDirectories.Length == 0)
            throw new InvalidDataException($"Image folder '{fullRoot}' has no class sub folders (expected root/<class>/<image files>).");

        var skipped = Directory.EnumerateFiles(fullRoot, "*", visible)
            .Where(f => !IsHidden(Path.GetFileName(f)))
            .Select(f => ToRelative(fullRoot, f))
            .ToList();
        var files = new List<ImageFileEntry>();
        var classNames = new string[classDirectories.Length];
        for (int label = 0; label < classDirectories.Length; label++)
        {
            classNames[label] = Path.GetFileName(classDirectories[label]);
            var found = ListFiles(classDirectories[label], 0, fullRoot, [RealPath(classDirectories[label])])
                .Select(f => (f.Path, f.LoopLink, Relative: ToRelative(fullRoot, f.Path)))
                .OrderBy(f => f.Relative, StringComparer.Ordinal);
            foreach (var (full, loopLink, relative) in found)
            {
                if (loopLink)
                    skipped.Add(relative + "/");
                else if (ImageFileReader.HasSupportedExtension(relative))
                    files.Add(new ImageFileEntry(relative, full, label));
                else
                    skipped.Add(relative);
            }
        }
        skipped.Sort(StringComparer.Ordinal);
        return new ImageFolderIndex(fullRoot, classNames, files, skipped);
    }

    private const int MaxDepth = 32;

    // Recurses by hand so that hidden folders (.git, .ipynb_checkpoints) are pruned rather than walked. Linked folders
    // are followed, except one that leads back to a folder above it (a loop: listed as skipped, "name/", not walked);
    // the depth limit stops what that check cannot see (a loop through links in the target's own parents).
    private static IEnumerable<(string Path, bool LoopLink)> ListFiles(string directory, int depth, string root, List<string> ancestors)
    {
        if (depth > MaxDepth)
            throw new InvalidDataException($"Image folder '{root}' is nested more than {MaxDepth} levels deep at '{directory}' (a folder link pointing back up the tree?).");
        var options = new EnumerationOptions { AttributesToSkip = 0, IgnoreInaccessible = true, RecurseSubdirectories = false };
        foreach (string file in Directory.EnumerateFiles(directory, "*", options))
            if (!IsHidden(Path.GetFileName(file))) yield return (file, false);
        foreach (string sub in Directory.EnumerateDirectories(directory, "*", options))
        {
            if (IsHidden(Path.GetFileName(sub))) continue;
            string real = RealPath(sub);
            if (ancestors.Any(a => IsSameOrInside(a, real)))
            {
                yield return (sub, true);
                continue;
            }
            ancestors.Add(real);
            foreach (var entry in ListFiles(sub, depth + 1, root, ancestors)) yield return entry;
            ancestors.RemoveAt(ancestors.Count - 1);
        }
    }

    // The folder a path names once its own link (if any) is followed to the end.
    private static string RealPath(string directory)
    {
        var target = new DirectoryInfo(directory).ResolveLinkTarget(returnFinalTarget: true);
        return Path.TrimEndingDirectorySeparator(Path.GetFullPath(target?.FullName ?? directory));
    }

    // True when 'ancestor' is 'path' or a folder below it: following the link would walk 'path' again.
    private static bool IsSameOrInside(string ancestor, string path) =>
        ancestor == path || ancestor.StartsWith(path + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    private static bool IsHidden(string name) => name.StartsWith('.');

    private static string ToRelative(string root, string path) => Path.GetRelativePath(root, path).Replace(Path.DirectorySeparatorChar, '/');
}
