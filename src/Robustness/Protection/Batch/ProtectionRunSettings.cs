using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Robustness.IO;

namespace Robustness.Protection.Batch;

/// <summary>
/// The settings that decide the bytes of a protected folder, kept in <c>&lt;output&gt;/.robustness/run.json</c>. A run
/// (or a shard) that resumes into an output folder must have the same settings, or files protected two different
/// ways would end up side by side; <see cref="WriteOrCheck"/> refuses that with a message listing the differences.
/// Null fields are the method's defaults.
/// </summary>
public sealed record ProtectionRunSettings
{
    /// <summary>The protector's catalogue name.</summary>
    [JsonPropertyName("method")] public required string Method { get; init; }

    /// <summary>The l-inf budget on the [0,1] scale.</summary>
    [JsonPropertyName("eps")] public required double Epsilon { get; init; }

    /// <summary>SEP's iterations T (null = the method's default).</summary>
    [JsonPropertyName("iterations")] public int? Iterations { get; init; }

    /// <summary>Step size on the [0,1] scale (null = default).</summary>
    [JsonPropertyName("stepSize")] public double? StepSize { get; init; }

    /// <summary>Error-minimising noise's PGD steps per round; null = the method's default (absent from older run.json files).</summary>
    [JsonPropertyName("steps")] public int? Steps { get; init; }

    /// <summary>Checkpoints K the method selects (null = default).</summary>
    [JsonPropertyName("checkpointCount")] public int? CheckpointCount { get; init; }

    /// <summary>The epochs of the checkpoints the method was given (empty when it needs none).</summary>
    [JsonPropertyName("checkpointEpochs")] public IReadOnlyList<int> CheckpointEpochs { get; init; } = [];

    /// <summary>Inner steps M of SEP-FA-VR (null = default).</summary>
    [JsonPropertyName("innerSteps")] public int? InnerSteps { get; init; }

    /// <summary>
    /// The model the run trains itself, as "architecture w<i>width</i>" (or "architecture default width"): error-minimising noise's surrogate, or the source
    /// model of <c>protect --train-epochs</c> (null = the method's default, or none).
    /// </summary>
    [JsonPropertyName("trainedModel")] public string? TrainedModel { get; init; }

    /// <summary>Seed of the method's randomness.</summary>
    [JsonPropertyName("seed")] public int Seed { get; init; }

    /// <summary>Crafted through random crops and flips (SEP's <see cref="SepOptions.ExpectationOverTransforms"/>); false in older run.json files.</summary>
    [JsonPropertyName("expectationOverTransforms")] public bool ExpectationOverTransforms { get; init; }

    /// <summary>The input size of the source model the run trains itself (null when it trains none; absent in older run.json files).</summary>
    [JsonPropertyName("workSize")] public int? WorkSize { get; init; }

    /// <summary>Images per batch (a batch's bytes may depend on which images share it).</summary>
    [JsonPropertyName("batchSize")] public required int BatchSize { get; init; }

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>
    /// The run settings of protector <paramref name="method"/> built from <paramref name="settings"/>: every knob that
    /// decides its bytes comes from the one settings object the protector is built from, so none can be left out.
    /// </summary>
    /// <param name="method">The protector's catalogue name.</param>
    /// <param name="settings">The settings the protector is (or will be) built from; its checkpoints are not read.</param>
    /// <param name="batchSize">Images per batch.</param>
    /// <param name="checkpointEpochs">The epochs of the checkpoints the protector is given (empty when none).</param>
    /// <param name="sourceModel">The source model the run trains itself for its checkpoints, if it does.</param>
    public static ProtectionRunSettings For(string method, ProtectorSettings settings, int batchSize,
        IReadOnlyList<int>? checkpointEpochs = null, Models.ModelSpec? sourceModel = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(method);
        ArgumentNullException.ThrowIfNull(settings);
        var trained = sourceModel ?? settings.SurrogateSpec;
        return new ProtectionRunSettings
        {
            Method = method, Epsilon = settings.Epsilon, Iterations = settings.Iterations, Steps = settings.Steps, StepSize = settings.StepSize,
            CheckpointCount = settings.CheckpointCount, CheckpointEpochs = checkpointEpochs ?? [], InnerSteps = settings.InnerSteps,
            TrainedModel = trained is null ? null
                : string.Create(CultureInfo.InvariantCulture, $"{trained.Architecture} {(trained.Width > 0 ? $"w{trained.Width}" : "default width")}"),
            Seed = settings.Seed, BatchSize = batchSize, ExpectationOverTransforms = settings.ExpectationOverTransforms,
            WorkSize = sourceModel?.ImageSize,
        };
    }

    /// <summary>The settings as JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads <c>run.json</c>; throws <see cref="InvalidDataException"/> naming the file when it is not valid.</summary>
    public static ProtectionRunSettings Read(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<ProtectionRunSettings>(File.ReadAllText(path), Json)
                ?? throw new InvalidDataException($"'{path}' holds no run settings.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not a valid run settings file ({e.Message}).", e);
        }
    }

    /// <summary>Reads the settings of the output folder <paramref name="outputRoot"/>, or null when it has none yet.</summary>
    public static ProtectionRunSettings? TryReadFrom(string outputRoot)
    {
        string path = OutputLayout.RunFile(outputRoot);
        return File.Exists(path) ? Read(path) : null;
    }

    /// <summary>
    /// Writes these settings to <paramref name="outputRoot"/>'s <c>run.json</c> when there is none; when there is one,
    /// throws <see cref="InvalidOperationException"/> listing each setting that differs (the output folder belongs to
    /// another run: use another folder, or the same settings).
    /// </summary>
    public void WriteOrCheck(string outputRoot)
    {
        string path = OutputLayout.RunFile(outputRoot);
        if (!File.Exists(path)) AtomicFile.WriteAllText(path, ToJson());
        var existing = Read(path);
        var differences = Differences(existing);
        if (differences.Count > 0)
            throw new InvalidOperationException(
                $"The output folder '{outputRoot}' was written with other settings ({string.Join("; ", differences)}; see {path}). " +
                "Resume with the same settings, or protect into another output folder.");
    }

    /// <summary>Each setting that differs from <paramref name="other"/>, as "name: theirs here, ours here".</summary>
    public IReadOnlyList<string> Differences(ProtectionRunSettings other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var list = new List<string>();
        void Compare<T>(string name, T existing, T wanted)
        {
            if (!EqualityComparer<T>.Default.Equals(existing, wanted))
                list.Add(string.Create(CultureInfo.InvariantCulture, $"{name} was {Show(existing)}, now {Show(wanted)}"));
        }
        Compare("method", other.Method.ToLowerInvariant(), Method.ToLowerInvariant());
        Compare("eps", Math.Round(other.Epsilon, 12), Math.Round(Epsilon, 12));
        Compare("iterations", other.Iterations, Iterations);
        Compare("steps", other.Steps, Steps);
        Compare("step size", other.StepSize is { } s ? Math.Round(s, 12) : (double?)null, StepSize is { } t ? Math.Round(t, 12) : null);
        Compare("checkpoint count", other.CheckpointCount, CheckpointCount);
        Compare("checkpoint epochs", string.Join(",", other.CheckpointEpochs), string.Join(",", CheckpointEpochs));
        Compare("inner steps", other.InnerSteps, InnerSteps);
        Compare("trained model", other.TrainedModel, TrainedModel);
        Compare("seed", other.Seed, Seed);
        Compare("expectation over transforms", other.ExpectationOverTransforms, ExpectationOverTransforms);
        Compare("work size", other.WorkSize, WorkSize);
        Compare("batch size", other.BatchSize, BatchSize);
        return list;
    }

    private static string Show<T>(T value) => value switch
    {
        null => "default",
        string s when s.Length == 0 => "none",
        double d => Attacks.Budget.Format(d),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };
}
