using Robustness.Validation;
using Robustness.Data;

namespace Robustness.Protection.Batch;

/// <summary>One listed input file and what the scan found: where its output goes, and why it cannot be protected (or null).</summary>
/// <param name="Entry">The file (relative path, full path, label).</param>
/// <param name="OutputPath">Its output, relative to the output root ('/'), with extension <c>.png</c>.</param>
/// <param name="Error">Why it is refused or unreadable; null when it decodes (at the run's image size, unless the run takes any size).</param>
public sealed record ScannedFile(ImageFileEntry Entry, string OutputPath, string? Error)
{
    /// <summary>True when the file can be protected.</summary>
    public bool Readable => Error is null;

    /// <summary>The decoded image's height in pixels (0 when it is not readable).</summary>
    public int Height { get; init; }

    /// <summary>The decoded image's width in pixels (0 when it is not readable).</summary>
    public int Width { get; init; }
}

/// <summary>
/// Lists an input folder for a protection run and checks every file once, so that each shard sees the same list,
/// the same image size and the same readable subset (and so protects the same batches to the same bytes): files
/// reached through a link pointing outside the input folder are refused, as are files whose output path would leave
/// the output folder or collide with another file's output (<c>a.jpg</c> and <c>a.png</c>); every other file is
/// decoded and must have the run's image size, or, when the run takes any size, is kept at its own size.
/// </summary>
public sealed class InputFolderScan
{
    private InputFolderScan(ImageFolderIndex index, IReadOnlyList<ScannedFile> files, int height, int width, bool anySize)
    {
        Index = index;
        Files = files;
        Height = height;
        Width = width;
        AnySize = anySize;
    }

    /// <summary>
    /// True when files of every size were accepted (each at its own size): <see cref="Height"/> x <see cref="Width"/>
    /// is then the working size that <see cref="Readable"/> stretches images to (a source model's input), not a rule.
    /// </summary>
    public bool AnySize { get; }

    /// <summary>The listing (root, classes, skipped non-image files).</summary>
    public ImageFolderIndex Index { get; }

    /// <summary>Every listed image file in the index's deterministic order.</summary>
    public IReadOnlyList<ScannedFile> Files { get; }

    /// <summary>The run's image height (with <see cref="AnySize"/>, the working height).</summary>
    public int Height { get; }

    /// <summary>The run's image width (with <see cref="AnySize"/>, the working width).</summary>
    public int Width { get; }

    /// <summary>
    /// This scan with another working size (only for a scan that took <see cref="AnySize"/>): what
    /// <see cref="Readable"/> stretches the images to.
    /// </summary>
    public InputFolderScan WithWorkingSize(int height, int width)
    {
        if (!AnySize) throw new InvalidOperationException("Only a scan that accepted any size has a working size to change.");
        Require.AtLeast(height, 1, nameof(height));
        Require.AtLeast(width, 1, nameof(width));
        return new InputFolderScan(Index, Files, height, width, anySize: true);
    }

    /// <summary>
    /// The readable files (the ones a run protects) as an image collection decoded on demand, in scan order. Training a
    /// source model on it uses exactly the images the run protects, never a file the scan refused (a link out of the
    /// input, a corrupt or oversized file). With <see cref="AnySize"/>, images of another size are stretched to
    /// <see cref="Height"/> x <see cref="Width"/> (bilinear, anti-aliased), the view a model of that size gets of them.
    /// </summary>
    /// <param name="maxPixels">Largest decoded image, in pixels, as in the run.</param>
    public IImageCollection Readable(long maxPixels = ImageFileReader.DefaultMaxPixels)
    {
        Require.AtLeast(maxPixels, 1, nameof(maxPixels));
        return new ReadableImages(this, maxPixels);
    }

    /// <summary>
    /// Scans <paramref name="inputRoot"/>. The image size is <paramref name="imageSize"/> (the size the protector's model
    /// was trained on) or, when null, the size of the first file in order that decodes. With <paramref name="anySize"/>
    /// files of other sizes are accepted at their own size and that size is only the working size (see <see cref="AnySize"/>).
    /// <paramref name="progress"/> gets <c>scan</c> reports.
    /// </summary>
    public static InputFolderScan Run(string inputRoot, string outputRoot, (int Height, int Width)? imageSize, long maxPixels,
        int maxDegreeOfParallelism = -1, IProgress<ProtectionProgress>? progress = null, CancellationToken cancellationToken = default,
        bool anySize = false)
    {
        var index = ImageFolderIndex.Scan(inputRoot);
        string realRoot = OutputLayout.Real(index.Root);
        var files = index.Files;
        var errors = new string?[files.Count];
        var outputs = new string[files.Count];
        var claimed = new Dictionary<string, string>(OperatingSystem.IsLinux() ? StringComparer.Ordinal : StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < files.Count; i++)
        {
            string relative = files[i].RelativePath;
            outputs[i] = OutputLayout.OutputPathOf(relative);
            errors[i] = LinkProblem(realRoot, relative);
            if (errors[i] is not null) continue;
            try
            {
                string full = SafeOutputPath.Resolve(outputRoot, outputs[i]);
                if (!claimed.TryAdd(full, relative))
                    errors[i] = $"its output '{outputs[i]}' is already the output of '{claimed[full]}'; rename one of them";
            }
            catch (ArgumentException e)
            {
                errors[i] = e.Message;
            }
        }

        int height, width;
        if (imageSize is { } size)
        {
            (height, width) = size;
        }
        else
        {
            (height, width) = (0, 0);
            for (int i = 0; i < files.Count && height == 0; i++)
            {
                if (errors[i] is not null) continue;
                try
                {
                    var image = ImageFileReader.Read(files[i].FullPath, SizePolicy.MatchFirst, maxPixels);
                    (height, width) = (image.Height, image.Width);
                }
                catch (InvalidDataException)
                {
                    // Reported below with the others.
                }
            }
            if (height == 0) (height, width) = (1, 1); // no readable file: every file fails below with its own reason
        }

        var policy = anySize ? SizePolicy.MatchFirst : SizePolicy.Require(height, width);
        var sizes = new (int Height, int Width)[files.Count];
        int done = 0;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism, CancellationToken = cancellationToken };
        Parallel.For(0, files.Count, parallel, i =>
        {
            if (errors[i] is null)
            {
                try
                {
                    var image = ImageFileReader.Read(files[i].FullPath, policy, maxPixels);
                    sizes[i] = (image.Height, image.Width);
                }
                catch (InvalidDataException e)
                {
                    errors[i] = SizeAware(e.Message, height, width, imageSize is not null);
                }
            }
            int n = Interlocked.Increment(ref done);
            if (progress is not null && (n % 256 == 0 || n == files.Count))
                lock (watch) progress.Report(new ProtectionProgress("scan", n, files.Count, n / Math.Max(watch.Elapsed.TotalSeconds, 1e-9), watch.Elapsed));
        });
        var scanned = files.Select((f, i) => new ScannedFile(f, outputs[i], errors[i])
        {
            Height = errors[i] is null ? sizes[i].Height : 0,
            Width = errors[i] is null ? sizes[i].Width : 0,
        }).ToArray();
        return new InputFolderScan(index, scanned, height, width, anySize);
    }

    // A size mismatch says where the required size comes from, so the policy is visible in the manifest.
    private static string SizeAware(string message, int height, int width, bool fromModel) =>
        message.Contains("size policy", StringComparison.Ordinal)
            ? $"{message} (every image must be {height}x{width}, {(fromModel ? "the size the protector's model was trained on" : "the size of the first readable image")}; resize the folder first)"
            : message;

    /// <summary>
    /// Null when <paramref name="relativePath"/> stays inside the input folder with every link on the way resolved;
    /// otherwise why not (a link pointing outside, a broken link).
    /// </summary>
    public static string? LinkProblem(string realRoot, string relativePath)
    {
        string current = realRoot;
        foreach (string segment in relativePath.Split('/'))
        {
            if (segment is "" or "." || segment == "..") return $"the path '{relativePath}' has an empty, '.' or '..' segment";
            current = Path.Combine(current, segment);
            var info = new FileInfo(current);
            if (info.LinkTarget is null) continue;
            FileSystemInfo? target;
            try
            {
                target = info.ResolveLinkTarget(returnFinalTarget: true);
            }
            catch (IOException e)
            {
                // A link to itself, or a cycle of links: ELOOP.
                return $"'{relativePath}' goes through '{current}', a link that cannot be resolved ({e.Message.TrimEnd('.')}: a loop of links?)";
            }
            if (target is null || !(File.Exists(target.FullName) || Directory.Exists(target.FullName)))
                return $"'{relativePath}' goes through '{current}', a broken link";
            string resolved = Path.TrimEndingDirectorySeparator(target.FullName);
            if (!OutputLayout.Inside(resolved, realRoot))
                return $"'{relativePath}' goes through '{current}', a link to '{resolved}' outside the input folder; links out of the input folder are not followed";
            current = resolved;
        }
        return null;
    }
}

/// <summary>The readable files of a scan as an image collection: the collection a protector is prepared on.</summary>
internal sealed class ReadableImages : IImageCollection
{
    private readonly IReadOnlyList<ScannedFile> _files;
    private readonly SizePolicy _policy;
    private readonly long _maxPixels;

    public ReadableImages(InputFolderScan scan, long maxPixels)
    {
        _files = scan.Files.Where(f => f.Readable).ToArray();
        ClassNames = scan.Index.ClassNames;
        Height = scan.Height;
        Width = scan.Width;
        _policy = scan.AnySize ? SizePolicy.Resize(Height, Width) : SizePolicy.Require(Height, Width);
        _maxPixels = maxPixels;
        var positions = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < _files.Count; i++) positions[_files[i].Entry.RelativePath] = i;
        PositionOf = positions;
    }

    /// <summary>Index in this collection of each readable file, by input relative path.</summary>
    public IReadOnlyDictionary<string, int> PositionOf { get; }

    public int Count => _files.Count;

    public int Channels => RgbImage.ChannelCount;

    public int Height { get; }

    public int Width { get; }

    public IReadOnlyList<string> ClassNames { get; }

    public long GetLabel(int index) => _files[index].Entry.Label;

    public string? GetRelativePath(int index) => _files[index].Entry.RelativePath;

    public void CopyImage(int index, Span<byte> destination) =>
        ImageFileReader.Read(_files[index].Entry.FullPath, _policy, _maxPixels).Pixels.CopyTo(destination);
}
