using System.Text.Json.Serialization;

namespace Robustness.Protection.Batch;

/// <summary>
/// One line of a protection manifest: what happened to one input file. Paths are relative to the input and output
/// roots with '/' separators; hashes are lower-case hex SHA-256 of the file bytes.
/// </summary>
public sealed record ManifestRecord
{
    /// <summary><c>ok</c>: the output was written.</summary>
    public const string Ok = "ok";

    /// <summary><c>error</c>: the file could not be protected (<see cref="Error"/> says why).</summary>
    public const string Failed = "error";

    /// <summary>The input file, relative to the input root.</summary>
    [JsonPropertyName("input")] public required string Input { get; init; }

    /// <summary>SHA-256 of the input file (null when it could not be read).</summary>
    [JsonPropertyName("inputSha256")] public string? InputSha256 { get; init; }

    /// <summary>The output file, relative to the output root (null on error).</summary>
    [JsonPropertyName("output")] public string? Output { get; init; }

    /// <summary>SHA-256 of the output file (null on error).</summary>
    [JsonPropertyName("outputSha256")] public string? OutputSha256 { get; init; }

    /// <summary>The largest |protected - clean| over all pixels and channels, in 1/255 levels (null on error).</summary>
    [JsonPropertyName("maxDelta")] public int? MaxDelta { get; init; }

    /// <summary>PSNR of the output against the input in dB (null on error, or when the output equals the input).</summary>
    [JsonPropertyName("psnr")] public double? Psnr { get; init; }

    /// <summary>SSIM of the output against the input (<see cref="Data.ImageQuality.Ssim"/>; null on error and in manifests written before it was recorded).</summary>
    [JsonPropertyName("ssim")] public double? Ssim { get; init; }

    /// <summary>The protector's name.</summary>
    [JsonPropertyName("method")] public required string Method { get; init; }

    /// <summary>The l-inf budget on the [0,1] scale.</summary>
    [JsonPropertyName("eps")] public double Epsilon { get; init; }

    /// <summary><see cref="Ok"/> or <see cref="Failed"/>.</summary>
    [JsonPropertyName("status")] public required string Status { get; init; }

    /// <summary>Why the file failed (null when ok).</summary>
    [JsonPropertyName("error")] public string? Error { get; init; }

    /// <summary>True for an <see cref="Ok"/> record.</summary>
    [JsonIgnore] public bool IsOk => Status == Ok;
}
