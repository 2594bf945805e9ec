using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Robustness.Protection.Batch;

/// <summary>
/// A shard's manifest, open for appending: one JSON object per line, each written, flushed and synced to disk before
/// the next file is worked on, so that after a crash every record but possibly a torn last line is complete. A torn
/// last line (a process killed mid-write) is cut off when the file is opened again.
/// </summary>
public sealed class ManifestWriter : IDisposable
{
    private static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.Never };
    private readonly FileStream _stream;

    /// <summary>Opens (creating it and its folder if needed) the manifest at <paramref name="path"/> for appending.</summary>
    public ManifestWriter(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        _stream = new FileStream(Path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        CutTornTail(_stream);
        _stream.Seek(0, SeekOrigin.End);
    }

    /// <summary>The manifest file.</summary>
    public string Path { get; }

    /// <summary>Appends <paramref name="record"/> as one line and syncs it to disk.</summary>
    public void Append(ManifestRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        byte[] line = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(record, Json) + "\n");
        _stream.Write(line);
        _stream.Flush(flushToDisk: true);
    }

    /// <inheritdoc />
    public void Dispose() => _stream.Dispose();

    // Everything after the last newline is a line the previous writer did not finish.
    private static void CutTornTail(FileStream stream)
    {
        long length = stream.Length;
        if (length == 0) return;
        long end = length;
        var buffer = new byte[4096];
        while (end > 0)
        {
            int chunk = (int)Math.Min(buffer.Length, end);
            stream.Seek(end - chunk, SeekOrigin.Begin);
            stream.ReadExactly(buffer, 0, chunk);
            int newline = Array.LastIndexOf(buffer, (byte)'\n', chunk - 1, chunk);
            if (newline >= 0)
            {
                long keep = end - chunk + newline + 1;
                if (keep != length) stream.SetLength(keep);
                return;
            }
            end -= chunk;
        }
        stream.SetLength(0);
    }
}

/// <summary>Reads manifests: every complete line of every shard's file in an output folder.</summary>
public static class ManifestReader
{
    private static readonly JsonSerializerOptions Json = new();

    /// <summary>
    /// The records of <paramref name="path"/>, in file order. Lines that are not a complete record (a torn last line
    /// left by a killed process) are skipped.
    /// </summary>
    public static IReadOnlyList<ManifestRecord> Read(string path)
    {
        var records = new List<ManifestRecord>();
        if (!File.Exists(path)) return records;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        while (reader.ReadLine() is { } line)
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                var record = JsonSerializer.Deserialize<ManifestRecord>(line, Json);
                if (record is not null) records.Add(record);
            }
            catch (JsonException)
            {
                // A torn line: the process writing it was killed; the file it describes is redone.
            }
        }
        return records;
    }

    /// <summary>The records of every manifest in <paramref name="outputRoot"/> (all shards), file by file.</summary>
    public static IReadOnlyList<ManifestRecord> ReadAll(string outputRoot) =>
        OutputLayout.ManifestFiles(outputRoot).SelectMany(Read).ToArray();
}

/// <summary>SHA-256 of files, as lower-case hex.</summary>
public static class FileHash
{
    /// <summary>The SHA-256 of <paramref name="path"/>'s bytes.</summary>
    public static string Sha256(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>The SHA-256 of <paramref name="bytes"/>.</summary>
    public static string Sha256(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
