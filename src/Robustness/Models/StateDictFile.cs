using System.Collections;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Robustness.Models;

/// <summary>
/// Reads a network's weights written by PyTorch or by Robustness: a safetensors file (with or without Robustness'
/// metadata) or a <c>torch.save</c> file (.pth/.pt/.bin, PyTorch's zip format, read by TorchSharp.PyBridge without
/// running any pickled code). Training checkpoints that nest the weights (<c>{"epoch": ..., "state_dict": {...}}</c>)
/// and the prefixes that <c>DataParallel</c> (<c>module.</c>) and <c>torch.compile</c> (<c>_orig_mod.</c>) put on
/// every name are handled, so a user's file loads as it is.
/// </summary>
public static class StateDictFile
{
    /// <summary>The keys under which training scripts commonly nest a model's weights, tried in this order.</summary>
    public static IReadOnlyList<string> NestingKeys { get; } = ["state_dict", "model_state_dict", "model", "net", "network", "ema"];

    /// <summary>Prefixes that wrap every name of a state dict and that the network itself does not have.</summary>
    public static IReadOnlyList<string> WrapperPrefixes { get; } = ["module.", "_orig_mod."];

    /// <summary>
    /// Every tensor of the state dict in <paramref name="path"/> as CPU tensors the caller owns (outside any dispose
    /// scope). <paramref name="key"/> picks the nested dictionary of a checkpoint; when null, a file whose top level holds
    /// no tensors is searched under <see cref="NestingKeys"/>. Files that are neither format, PyTorch's legacy non-zip
    /// format and whole pickled modules raise <see cref="InvalidDataException"/> saying what to do instead.
    /// </summary>
    public static Dictionary<string, Tensor> Read(string path, string? key = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Weights file '{path}' does not exist.", path);
        var tensors = Format(path) switch
        {
            WeightsFormat.Safetensors when key is null => SafeTensors.Load(path).Tensors,
            WeightsFormat.Safetensors => throw new ArgumentException($"'{path}' is a safetensors file, which has no nesting; leave out the key '{key}'.", nameof(key)),
            WeightsFormat.TorchZip => ReadPickled(path, key),
            WeightsFormat.TorchLegacy => throw new InvalidDataException(
                $"'{path}' was written by torch.save in PyTorch's legacy (pre-1.6, non-zip) format, which is not supported; re-save it in Python with torch.save(torch.load(path), new_path)."),
            _ => throw new InvalidDataException($"'{path}' is neither a safetensors file nor a PyTorch torch.save file (.pth/.pt)."),
        };
        return StripWrapperPrefixes(tensors);
    }

    /// <summary>What kind of weights file <paramref name="path"/> is, from its first bytes.</summary>
    public static WeightsFormat Format(string path)
    {
        Span<byte> head = stackalloc byte[9];
        using var stream = File.OpenRead(path);
        int read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        if (read >= 4 && head[0] == 0x50 && head[1] == 0x4b && head[2] == 0x03 && head[3] == 0x04) return WeightsFormat.TorchZip;
        // Legacy torch.save starts with a pickled magic number: protocol 2 (0x80 0x02) then a long.
        if (read >= 2 && head[0] == 0x80 && head[1] is >= 2 and <= 5) return WeightsFormat.TorchLegacy;
        // Safetensors: an 8-byte little-endian header length, then the JSON header.
        if (read == 9 && head[8] == (byte)'{') return WeightsFormat.Safetensors;
        return WeightsFormat.Unknown;
    }

    private static Dictionary<string, Tensor> ReadPickled(string path, string? key)
    {
        Hashtable root;
        try
        {
            using var stream = File.OpenRead(path);
            root = PyTorchUnpickler.UnpickleStateDict(stream);
        }
        catch (NotImplementedException e)
        {
            // PyBridge's way of saying "a whole pickled module" or "a storage type it does not know".
            throw new InvalidDataException($"'{path}' cannot be read as a state dict: {e.Message}", e);
        }
        catch (Exception e) when (e is InvalidCastException or InvalidOperationException or InvalidDataException or Razorvine.Pickle.PickleException)
        {
            throw new InvalidDataException($"'{path}' is not a torch.save state dict PyTorch's zip format describes ({e.Message}); save model.state_dict(), not the model.", e);
        }

        var chosen = Choose(root, key, path);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in chosen)
            if (entry.Key is string name && entry.Value is Tensor t) result[name] = t.DetachFromDisposeScope();
        // Whatever was not chosen (optimiser state, other nested dicts) is released now.
        DisposeUnchosen(root, result);
        if (result.Count == 0) throw new InvalidDataException($"'{path}' holds no tensors{(key is null ? "" : $" under '{key}'")}.");
        return result;
    }

    private static Hashtable Choose(Hashtable root, string? key, string path)
    {
        if (key is not null)
            return root[key] as Hashtable ?? throw new ArgumentException(
                $"'{path}' has no dictionary of tensors under '{key}'; its top-level keys are: {TopLevelKeys(root)}.", nameof(key));
        if (root.Values.OfType<Tensor>().Any()) return root;
        foreach (string candidate in NestingKeys)
            if (root[candidate] is Hashtable nested && nested.Values.OfType<Tensor>().Any()) return nested;
        throw new InvalidDataException($"'{path}' holds no tensors at its top level and none under {string.Join(", ", NestingKeys)}; its top-level keys are: {TopLevelKeys(root)}. Name the right one with --key.");
    }

    private static string TopLevelKeys(Hashtable root) =>
        string.Join(", ", root.Keys.OfType<object>().Select(k => k.ToString()).Order(StringComparer.Ordinal));

    private static void DisposeUnchosen(Hashtable table, Dictionary<string, Tensor> kept)
    {
        var keptSet = new HashSet<Tensor>(kept.Values, ReferenceEqualityComparer.Instance);
        foreach (var value in table.Values)
        {
            if (value is Tensor t && !keptSet.Contains(t)) t.Dispose();
            else if (value is Hashtable nested) DisposeUnchosen(nested, kept);
        }
    }

    private static Dictionary<string, Tensor> StripWrapperPrefixes(Dictionary<string, Tensor> tensors)
    {
        foreach (string prefix in WrapperPrefixes)
        {
            if (tensors.Count == 0 || !tensors.Keys.All(k => k.StartsWith(prefix, StringComparison.Ordinal))) continue;
            tensors = tensors.ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value, StringComparer.Ordinal);
        }
        return tensors;
    }
}

/// <summary>The kinds of weights file <see cref="StateDictFile"/> tells apart.</summary>
public enum WeightsFormat
{
    /// <summary>Neither format.</summary>
    Unknown,

    /// <summary>A safetensors file.</summary>
    Safetensors,

    /// <summary>PyTorch's torch.save zip format (PyTorch 1.6 and later).</summary>
    TorchZip,

    /// <summary>PyTorch's legacy pickle format (before 1.6), not supported.</summary>
    TorchLegacy,
}
