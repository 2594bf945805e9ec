using System.Globalization;
using System.Text.RegularExpressions;

namespace Robustness.Protection.Batch;

/// <summary>
/// Where a protection run keeps its bookkeeping inside the output folder: <c>&lt;output&gt;/.robustness/</c> holds
/// <c>run.json</c> (the run's settings), one manifest per shard (<c>manifest-&lt;i&gt;-of-&lt;n&gt;.jsonl</c>, so shards on
/// different machines never append to the same file) and, when the tool trains the source model itself,
/// <c>checkpoints/</c>. The folder name starts with a dot, so readers of the output as a class-folder data set skip it.
/// </summary>
public static partial class OutputLayout
{
    /// <summary>The bookkeeping folder's name.</summary>
    public const string StateFolderName = ".robustness";

    /// <summary>The run settings file's name.</summary>
    public const string RunFileName = "run.json";

    /// <summary><c>&lt;output&gt;/.robustness</c>.</summary>
    public static string StateFolder(string outputRoot) => Path.Combine(Path.GetFullPath(outputRoot), StateFolderName);

    /// <summary><c>&lt;output&gt;/.robustness/run.json</c>.</summary>
    public static string RunFile(string outputRoot) => Path.Combine(StateFolder(outputRoot), RunFileName);

    /// <summary><c>&lt;output&gt;/.robustness/checkpoints</c>: where the tool keeps checkpoints it trained itself.</summary>
    public static string CheckpointFolder(string outputRoot) => Path.Combine(StateFolder(outputRoot), "checkpoints");

    /// <summary>
    /// The lock a run of <paramref name="shard"/> holds while it works (an OS file lock, released when the process ends,
    /// even by kill -9), so a second run of the same shard into the same folder refuses instead of writing beside it.
    /// </summary>
    public static string LockFile(string outputRoot, Shard shard) =>
        Path.Combine(StateFolder(outputRoot), string.Create(CultureInfo.InvariantCulture, $"shard-{shard.Index}-of-{shard.Count}.lock"));

    /// <summary>The manifest of <paramref name="shard"/>: <c>&lt;output&gt;/.robustness/manifest-&lt;i&gt;-of-&lt;n&gt;.jsonl</c>.</summary>
    public static string ManifestFile(string outputRoot, Shard shard) =>
        Path.Combine(StateFolder(outputRoot), string.Create(CultureInfo.InvariantCulture, $"manifest-{shard.Index}-of-{shard.Count}.jsonl"));

    /// <summary>Every manifest in the output folder (all shards of all runs), sorted by name.</summary>
    public static IReadOnlyList<string> ManifestFiles(string outputRoot)
    {
        string folder = StateFolder(outputRoot);
        if (!Directory.Exists(folder)) return [];
        return Directory.EnumerateFiles(folder, "manifest-*-of-*.jsonl").Order(StringComparer.Ordinal).ToArray();
    }

    /// <summary>The output path (relative, '/') of input <paramref name="inputRelativePath"/>: the same path with extension <c>.png</c>.</summary>
    public static string OutputPathOf(string inputRelativePath)
    {
        ArgumentException.ThrowIfNullOrEmpty(inputRelativePath);
        return IsPng(inputRelativePath) ? inputRelativePath : Path.ChangeExtension(inputRelativePath, ".png");
    }

    /// <summary>True when the file name ends with <c>.png</c> (any case), i.e. it keeps its name in the output.</summary>
    public static bool IsPng(string path) => Path.GetExtension(path).Equals(".png", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// When <paramref name="fileName"/> is a temporary file of <see cref="IO.AtomicFile"/> (<c>.name.&lt;32 hex&gt;.tmp</c>),
    /// the name of the file it was going to become; otherwise null.
    /// </summary>
    public static string? TempFileTarget(string fileName)
    {
        var match = TempPattern().Match(fileName);
        return match.Success ? match.Groups[1].Value : null;
    }

    [GeneratedRegex(@"^\.(.+)\.[0-9a-f]{32}\.tmp$")]
    private static partial Regex TempPattern();

    /// <summary>
    /// Throws <see cref="ArgumentException"/> naming both folders when the output folder is the input folder, lies
    /// inside it or contains it (compared as given and with links resolved): the tool never writes into its input.
    /// </summary>
    public static void CheckApart(string inputRoot, string outputRoot)
    {
        ArgumentException.ThrowIfNullOrEmpty(inputRoot);
        ArgumentException.ThrowIfNullOrEmpty(outputRoot);
        string input = Normalise(inputRoot), output = Normalise(outputRoot);
        foreach (var (i, o) in new[] { (input, output), (Real(input), Real(output)) })
        {
            if (Same(i, o)) throw new ArgumentException($"The output folder '{outputRoot}' is the input folder; choose another output folder (the input is never overwritten).", nameof(outputRoot));
            if (Inside(o, i)) throw new ArgumentException($"The output folder '{outputRoot}' lies inside the input folder '{inputRoot}'; choose a folder outside it.", nameof(outputRoot));
            if (Inside(i, o)) throw new ArgumentException($"The output folder '{outputRoot}' contains the input folder '{inputRoot}'; choose a folder that does not.", nameof(outputRoot));
        }
    }

    private static string Normalise(string path) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));

    /// <summary>The path with every link on the way resolved (as far as the path exists).</summary>
    internal static string Real(string path)
    {
        string full = Normalise(path);
        string root = Path.GetPathRoot(full)!;
        string current = root;
        foreach (string segment in full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            current = Path.Combine(current, segment);
            FileSystemInfo info = Directory.Exists(current) ? new DirectoryInfo(current) : new FileInfo(current);
            if (!info.Exists) continue;
            var target = info.ResolveLinkTarget(returnFinalTarget: true);
            if (target is not null) current = Normalise(target.FullName);
        }
        return current;
    }

    private static StringComparison Comparison => OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    private static bool Same(string a, string b) => a.Equals(b, Comparison);

    internal static bool Inside(string path, string root) => path.StartsWith(root + Path.DirectorySeparatorChar, Comparison) || Same(path, root);
}
