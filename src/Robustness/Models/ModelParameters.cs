using System.Collections;
using System.Text.Json;

namespace Robustness.Models;

/// <summary>
/// A family's own parameters beyond the shared shape fields of <see cref="ModelSpec"/> (a ViT's patch size, an
/// architecture spec's stages), by name, each held as JSON text. Immutable, with value equality, and saved into
/// the model file with the rest of the spec so that <see cref="Classifier.Load"/> rebuilds the network.
/// </summary>
public sealed class ModelParameters : IEquatable<ModelParameters>, IReadOnlyDictionary<string, string>
{
    private readonly SortedDictionary<string, string> _json;

    private ModelParameters(SortedDictionary<string, string> json) => _json = json;

    /// <summary>No parameters.</summary>
    public static ModelParameters Empty { get; } = new(new SortedDictionary<string, string>(StringComparer.Ordinal));

    /// <summary>Parameters from their JSON texts by name; each text must be valid JSON.</summary>
    public static ModelParameters FromJson(IEnumerable<KeyValuePair<string, string>> json)
    {
        ArgumentNullException.ThrowIfNull(json);
        var copy = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, text) in json)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(name, nameof(json));
            copy[name] = Canonical(name, text);
        }
        return new ModelParameters(copy);
    }

    /// <summary>A copy with <paramref name="name"/> set to <paramref name="value"/> serialised as JSON.</summary>
    public ModelParameters With<T>(string name, T value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var copy = new SortedDictionary<string, string>(_json, StringComparer.Ordinal) { [name] = JsonSerializer.Serialize(value) };
        return new ModelParameters(copy);
    }

    /// <summary>Parameter <paramref name="name"/> read as <typeparamref name="T"/>, or <paramref name="fallback"/> when absent.</summary>
    public T Get<T>(string name, T fallback)
    {
        if (!_json.TryGetValue(name, out var text)) return fallback;
        try { return JsonSerializer.Deserialize<T>(text) ?? fallback; }
        catch (JsonException e) { throw new ArgumentException($"Model parameter '{name}' ({text}) is not a {typeof(T).Name}.", name, e); }
    }

    /// <summary>The whole set as one JSON object (how it is stored in a model file).</summary>
    public string ToJson() => "{" + string.Join(",", _json.Select(p => JsonSerializer.Serialize(p.Key) + ":" + p.Value)) + "}";

    /// <summary>Reads <see cref="ToJson"/>'s output.</summary>
    public static ModelParameters Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        using var document = JsonDocument.Parse(json);
        if (document.RootElement.ValueKind != JsonValueKind.Object) throw new JsonException("Model parameters must be a JSON object.");
        return FromJson(document.RootElement.EnumerateObject().Select(p => KeyValuePair.Create(p.Name, p.Value.GetRawText())));
    }

    // One text per value, so that equal values compare equal whatever their spacing.
    private static string Canonical(string name, string text)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            return JsonSerializer.Serialize(document.RootElement);
        }
        catch (JsonException e) { throw new ArgumentException($"Model parameter '{name}' is not valid JSON: {text}", name, e); }
    }

    /// <inheritdoc />
    public string this[string key] => _json[key];

    /// <inheritdoc />
    public IEnumerable<string> Keys => _json.Keys;

    /// <inheritdoc />
    public IEnumerable<string> Values => _json.Values;

    /// <inheritdoc />
    public int Count => _json.Count;

    /// <inheritdoc />
    public bool ContainsKey(string key) => _json.ContainsKey(key);

    /// <inheritdoc />
    public bool TryGetValue(string key, out string value) => _json.TryGetValue(key, out value!);

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, string>> GetEnumerator() => _json.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc />
    public bool Equals(ModelParameters? other) => other is not null && _json.SequenceEqual(other._json);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as ModelParameters);

    /// <inheritdoc />
    public override int GetHashCode() => ToJson().GetHashCode(StringComparison.Ordinal);

    /// <inheritdoc />
    public override string ToString() => ToJson();
}
