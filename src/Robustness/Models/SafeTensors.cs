using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Robustness.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Models;

/// <summary>
/// Reads and writes the safetensors format (8-byte little-endian header length, a JSON header naming each
/// tensor's dtype, shape and byte range, an optional string map under <c>__metadata__</c>, then raw little-endian
/// data), the format PyTorch users exchange weights in. Writes are atomic: a temporary file, then a rename.
/// </summary>
public static class SafeTensors
{
    private const string MetadataKey = "__metadata__";
    private const long MaxHeaderBytes = 100L * 1024 * 1024;

    private static readonly Dictionary<ScalarType, string> DtypeNames = new()
    {
        [ScalarType.Float32] = "F32", [ScalarType.Float64] = "F64", [ScalarType.Float16] = "F16", [ScalarType.BFloat16] = "BF16",
        [ScalarType.Int64] = "I64", [ScalarType.Int32] = "I32", [ScalarType.Int16] = "I16", [ScalarType.Int8] = "I8",
        [ScalarType.Byte] = "U8", [ScalarType.Bool] = "BOOL",
    };

    /// <summary>Writes <paramref name="tensors"/> (copied to the CPU) and <paramref name="metadata"/> to <paramref name="path"/>.</summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(tensors);
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
        {
            var meta = new JsonObject();
            foreach (var (key, value) in metadata.OrderBy(p => p.Key, StringComparer.Ordinal)) meta[key] = value;
            header[MetadataKey] = meta;
        }

        var names = tensors.Keys.Order(StringComparer.Ordinal).ToArray();
        var blobs = new List<byte[]>(names.Length);
        long offset = 0;
        using (var scope = torch.NewDisposeScope())
        {
            foreach (string name in names)
            {
                Tensor t = tensors[name];
                if (!DtypeNames.TryGetValue(t.dtype, out string? dtype))
                    throw new NotSupportedException($"Tensor '{name}' has dtype {t.dtype}, which safetensors writing does not support here.");
                byte[] data = t.detach().cpu().contiguous().bytes.ToArray();
                header[name] = new JsonObject
                {
                    ["dtype"] = dtype,
                    ["shape"] = new JsonArray(t.shape.Select(d => (JsonNode)d).ToArray()),
                    ["data_offsets"] = new JsonArray(offset, offset + data.LongLength),
                };
                offset += data.LongLength;
                blobs.Add(data);
            }
        }

        byte[] json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (json.Length + 7) / 8 * 8; // the format pads the header with spaces to 8-byte alignment
        AtomicFile.Write(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
            stream.Write(length);
            stream.Write(json);
            for (int i = json.Length; i < padded; i++) stream.WriteByte((byte)' ');
            foreach (byte[] blob in blobs) stream.Write(blob);
        });
    }

    /// <summary>The metadata map of a safetensors file (empty when it has none), without reading tensor data.</summary>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path)
    {
        using var stream = OpenChecked(path);
        return ParseMetadata(ReadHeader(stream, path, out _), path);
    }

    /// <summary>
    /// Reads every tensor of a safetensors file into CPU tensors (outside any dispose scope: the caller owns
    /// them) and its metadata. Malformed files raise <see cref="InvalidDataException"/> naming the file.
    /// </summary>
    public static (Dictionary<string, Tensor> Tensors, IReadOnlyDictionary<string, string> Metadata) Load(string path)
    {
        using var stream = OpenChecked(path);
        JsonObject header = ReadHeader(stream, path, out long dataStart);
        long dataLength = stream.Length - dataStart;
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var (name, node) in header)
            {
                if (name == MetadataKey) continue;
                var (dtype, shape, begin, expected) = ParseEntry(name, node, path, dataLength);
                var bytes = new byte[expected];
                stream.Position = dataStart + begin;
                stream.ReadExactly(bytes);
                Tensor t = torch.empty(shape, dtype).DetachFromDisposeScope();
                if (expected > 0) t.bytes = bytes;
                result[name] = t;
            }
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return (result, ParseMetadata(header, path));
    }

    private static FileStream OpenChecked(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Model file '{path}' does not exist.", path);
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
    }

    private static JsonObject ReadHeader(FileStream stream, string path, out long dataStart)
    {
        Span<byte> length = stackalloc byte[8];
        if (stream.Length < 8 || stream.Read(length) != 8) throw Bad(path, "it is shorter than the 8-byte header length");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(length);
        if (headerLength == 0 || headerLength > (ulong)Math.Min(MaxHeaderBytes, stream.Length - 8))
            throw Bad(path, $"its header length {headerLength} does not fit the file of {stream.Length} bytes");
        var json = new byte[headerLength];
        stream.ReadExactly(json);
        dataStart = 8 + (long)headerLength;
        try
        {
            var header = JsonNode.Parse(json) as JsonObject ?? throw Bad(path, "its header is not a JSON object");
            _ = header.Count; // materialises the object now, so duplicate names fail here and not mid-read
            return header;
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            throw new InvalidDataException($"'{path}' is not a safetensors file: its header is not valid JSON ({e.Message}).", e);
        }
    }

    private static IReadOnlyDictionary<string, string> ParseMetadata(JsonObject header, string path)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (header[MetadataKey] is JsonObject meta)
            foreach (var (key, value) in meta)
                result[key] = value?.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : throw Bad(path, $"metadata '{key}' is not a string");
        return result;
    }

    // One header entry, checked against the data section; any malformed field (wrong JSON kind, negative or
    // overflowing dimension) becomes an InvalidDataException naming the file and the entry.
    private static (ScalarType Dtype, long[] Shape, long Begin, long Bytes) ParseEntry(string name, JsonNode? node, string path, long dataLength)
    {
        try
        {
            if (node is not JsonObject entry) throw Bad(path, $"entry '{name}' is not an object");
            string dtypeName = entry["dtype"]?.GetValue<string>() ?? throw Bad(path, $"entry '{name}' has no dtype");
            var known = DtypeNames.Where(p => p.Value == dtypeName).Select(p => (ScalarType?)p.Key).FirstOrDefault()
                ?? throw Bad(path, $"entry '{name}' has unsupported dtype '{dtypeName}'");
            long[] shape = entry["shape"]?.AsArray().Select(d => d?.GetValue<long>() ?? throw Bad(path, $"entry '{name}' has a null dimension")).ToArray()
                ?? throw Bad(path, $"entry '{name}' has no shape");
            if (shape.Any(d => d < 0)) throw Bad(path, $"entry '{name}' has a negative dimension in shape [{string.Join(", ", shape)}]");
            var offsets = entry["data_offsets"]?.AsArray().Select(d => d?.GetValue<long>() ?? -1).ToArray();
            if (offsets is not { Length: 2 } || offsets[0] < 0 || offsets[1] < offsets[0] || offsets[1] > dataLength)
                throw Bad(path, $"entry '{name}' has data offsets outside the {dataLength} data bytes of the file");
            long expected = checked(shape.Aggregate(1L, (a, b) => a * b) * ElementSize(known));
            if (offsets[1] - offsets[0] != expected)
                throw Bad(path, $"entry '{name}' has {offsets[1] - offsets[0]} bytes but its shape and dtype need {expected}");
            return (known, shape, offsets[0], expected);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or OverflowException or ArgumentException)
        {
            throw new InvalidDataException($"'{path}' is not a valid safetensors file: entry '{name}' is malformed ({e.Message}).", e);
        }
    }

    private static long ElementSize(ScalarType dtype) => dtype switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        _ => 1,
    };

    private static InvalidDataException Bad(string path, string what) => new($"'{path}' is not a valid safetensors file: {what}.");
}
