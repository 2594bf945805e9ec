using System.Text.Json;

namespace Robustness.Benchmarks;

/// <summary>
/// A benchmark's results JSON: read if present, written atomically (temporary file, then rename), so a run killed while
/// writing leaves the previous complete file and a resumed run never reads half a file.
/// </summary>
public static class ResultsFile
{
    /// <summary>The state in <paramref name="path"/>, or null when there is no such file.</summary>
    public static T? Read<T>(string path, JsonSerializerOptions options) where T : class =>
        File.Exists(path) ? JsonSerializer.Deserialize<T>(File.ReadAllText(path), options) : null;

    /// <summary>Replaces <paramref name="path"/> with <paramref name="value"/> in one rename.</summary>
    public static void Write<T>(string path, T value, JsonSerializerOptions options)
    {
        string temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(value, options));
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>The SHA-256 of a file (a model's weights, recorded beside the figures measured with it), lower-case hex.</summary>
    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream));
    }
}
