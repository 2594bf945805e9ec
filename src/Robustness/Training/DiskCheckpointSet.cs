using Robustness.Models;
using Robustness.IO;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using static TorchSharp.torch;

namespace Robustness.Training;

/// <summary>
/// Snapshots on disk: <c>epoch-0007.safetensors</c> per epoch (each a complete <see cref="Classifier"/> file,
/// written atomically) and <c>checkpoints.json</c> listing them. A snapshot enters the index only after its file is
/// complete, and the index itself is replaced atomically, so an interrupted run leaves a consistent set.
/// </summary>
public sealed class DiskCheckpointSet : CheckpointSet
{
    /// <summary>The name of the index file inside the folder.</summary>
    public const string IndexFileName = "checkpoints.json";

    private const string FormatName = "robustness.checkpoints";
    private const int FormatVersion = 1;
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    private readonly SortedDictionary<int, string> _files;
    private ModelFamilyRegistry _families;

    private DiskCheckpointSet(string folder, SortedDictionary<int, string> files, ModelFamilyRegistry? families)
    {
        Folder = folder;
        _files = files;
        _families = families ?? ModelFamilyRegistry.BuiltIn;
    }

    /// <inheritdoc />
    public override string Folder { get; }

    /// <summary>The full path of the index file.</summary>
    public string IndexPath => Path.Combine(Folder, IndexFileName);

    /// <inheritdoc />
    public override IReadOnlyList<int> Epochs => _files.Keys.ToArray();

    /// <summary>The file name used for epoch <paramref name="epochIndex"/>.</summary>
    public static string FileNameFor(int epochIndex) => string.Create(CultureInfo.InvariantCulture, $"epoch-{epochIndex:D4}.safetensors");

    internal static DiskCheckpointSet CreateNew(string folder, ModelFamilyRegistry? families = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        string full = Path.GetFullPath(folder);
        Directory.CreateDirectory(full);
        var set = new DiskCheckpointSet(full, new SortedDictionary<int, string>(), families);
        if (File.Exists(set.IndexPath))
            throw new IOException($"'{full}' already holds a checkpoint set ({IndexFileName}); open it with CheckpointSet.Open or choose an empty folder.");
        set.WriteIndex(); // an empty set can be re-opened too
        return set;
    }

    internal static DiskCheckpointSet OpenExisting(string folder, ModelFamilyRegistry? families = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        string full = Path.GetFullPath(folder);
        if (!Directory.Exists(full)) throw new DirectoryNotFoundException($"Checkpoint folder '{full}' does not exist.");
        string indexPath = Path.Combine(full, IndexFileName);
        if (!File.Exists(indexPath)) throw new FileNotFoundException($"'{full}' is not a checkpoint set: it has no {IndexFileName}.", indexPath);

        IndexDocument? document;
        try
        {
            document = JsonSerializer.Deserialize<IndexDocument>(File.ReadAllText(indexPath), JsonOptions);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{indexPath}' is not a valid checkpoint index: {e.Message}", e);
        }
        if (document is null || document.Format != FormatName)
            throw new InvalidDataException($"'{indexPath}' is not a checkpoint index: its format must be '{FormatName}'.");
        if (document.Version != FormatVersion)
            throw new InvalidDataException($"'{indexPath}' has index version {document.Version}; this library reads version {FormatVersion}.");

        var files = new SortedDictionary<int, string>();
        foreach (var entry in document.Checkpoints ?? [])
        {
            if (entry.Epoch < 0) throw new InvalidDataException($"'{indexPath}' lists epoch {entry.Epoch}; epochs must be >= 0.");
            if (string.IsNullOrEmpty(entry.File) || Path.GetFileName(entry.File) != entry.File)
                throw new InvalidDataException($"'{indexPath}' lists file '{entry.File}' for epoch {entry.Epoch}; entries must be plain file names inside the folder.");
            if (!files.TryAdd(entry.Epoch, entry.File)) throw new InvalidDataException($"'{indexPath}' lists epoch {entry.Epoch} twice.");
            if (!File.Exists(Path.Combine(full, entry.File)))
                throw new InvalidDataException($"'{indexPath}' lists '{entry.File}' for epoch {entry.Epoch}, but that file is missing.");
        }
        return new DiskCheckpointSet(full, files, families);
    }

    /// <inheritdoc />
    public override string? PathOf(int epochIndex)
    {
        CheckHeld(epochIndex);
        return Path.Combine(Folder, _files[epochIndex]);
    }

    /// <inheritdoc />
    public override void Add(int epochIndex, Classifier classifier)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        CheckNewEpoch(epochIndex);
        string file = FileNameFor(epochIndex);
        classifier.Save(Path.Combine(Folder, file)); // atomic: temporary file, then rename
        // A module's network saved here must load back here, whichever registry the set was opened with.
        if (classifier.Family is { } family) _families = _families.With(family);
        _files[epochIndex] = file;
        try
        {
            WriteIndex();
        }
        catch
        {
            _files.Remove(epochIndex);
            throw;
        }
    }

    /// <inheritdoc />
    public override Classifier Load(int epochIndex, Device? device = null) => Classifier.Load(PathOf(epochIndex)!, device, _families);

    private void WriteIndex()
    {
        var document = new IndexDocument
        {
            Format = FormatName,
            Version = FormatVersion,
            Checkpoints = _files.Select(p => new IndexEntry { Epoch = p.Key, File = p.Value }).ToList(),
        };
        AtomicFile.WriteAllText(IndexPath, JsonSerializer.Serialize(document, JsonOptions));
    }

    private sealed class IndexDocument
    {
        [JsonPropertyName("format")] public string? Format { get; set; }
        [JsonPropertyName("version")] public int Version { get; set; }
        [JsonPropertyName("checkpoints")] public List<IndexEntry>? Checkpoints { get; set; }
    }

    private sealed class IndexEntry
    {
        [JsonPropertyName("epoch")] public int Epoch { get; set; }
        [JsonPropertyName("file")] public string? File { get; set; }
    }
}
