using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Robustness.Data;
using Robustness.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Attacks.Evaluation;

/// <summary>
/// What an <see cref="AutoAttackEvaluator"/> run has done so far, as written to its state file after every batch:
/// the stage and batch to continue from, each image's status, the per-attack counts and the sanity figures. Each
/// attack's batches are cut from the points still robust when it started (the points with status Robust or broken
/// by it), so a resumed run rebuilds exactly the batches of an uninterrupted one.
/// </summary>
internal sealed class AutoAttackState
{
    /// <summary>Status of an image not yet classified.</summary>
    public const int Pending = -3;

    /// <summary>Status of an image the model gets wrong without attack.</summary>
    public const int Misclassified = -2;

    /// <summary>Status of an image no attack has broken so far. Values >= 0 name the attack that broke the image.</summary>
    public const int Robust = -1;

    private const int CurrentVersion = 1;

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = false,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public int Version { get; set; } = CurrentVersion;
    public AutoAttackStateSettings Settings { get; set; } = null!;

    /// <summary>0 = clean accuracy; k + 1 = attack k; attacks + 1 = finished.</summary>
    public int Stage { get; set; }

    /// <summary>The first batch of <see cref="Stage"/> not done yet.</summary>
    public int NextBatch { get; set; }

    public int[] Status { get; set; } = [];
    public int ZeroGradientPoints { get; set; }
    public double CleanSeconds { get; set; }
    public int[] Attacked { get; set; } = [];
    public int[] Broken { get; set; } = [];
    public int[] Rejected { get; set; } = [];
    public double[] Seconds { get; set; } = [];
    public double MaxPerturbationNorm { get; set; }
    public long NanValues { get; set; }
    public double? MinValue { get; set; }
    public double? MaxValue { get; set; }

    /// <summary>A fresh state for <paramref name="settings"/>.</summary>
    public static AutoAttackState Start(AutoAttackStateSettings settings)
    {
        int attacks = settings.Attacks.Length;
        var state = new AutoAttackState
        {
            Settings = settings,
            Status = new int[settings.Images],
            Attacked = new int[attacks],
            Broken = new int[attacks],
            Rejected = new int[attacks],
            Seconds = new double[attacks],
        };
        Array.Fill(state.Status, Pending);
        return state;
    }

    /// <summary>
    /// The state stored at <paramref name="path"/> when it exists (its settings must equal <paramref name="settings"/>),
    /// else a fresh one.
    /// </summary>
    public static AutoAttackState LoadOrStart(string? path, AutoAttackStateSettings settings)
    {
        if (path is null || !File.Exists(path)) return Start(settings);
        AutoAttackState? state;
        try
        {
            state = JsonSerializer.Deserialize<AutoAttackState>(File.ReadAllText(path), JsonOptions);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"AutoAttack state file '{path}' is not valid JSON: {e.Message}", e);
        }
        if (state is null || state.Settings is null)
            throw new InvalidDataException($"AutoAttack state file '{path}' holds no state.");
        if (state.Version != CurrentVersion)
            throw new InvalidDataException($"AutoAttack state file '{path}' has version {state.Version}; this library reads version {CurrentVersion}.");
        var differences = settings.DifferencesFrom(state.Settings);
        if (differences.Count > 0)
            throw new InvalidOperationException(
                $"AutoAttack state file '{path}' was written for other settings ({string.Join("; ", differences)}). " +
                "Resume with the same settings, or delete the file (or choose another StatePath) to start afresh.");
        int attacks = settings.Attacks.Length;
        if (state.Status.Length != settings.Images || state.Attacked.Length != attacks || state.Broken.Length != attacks
            || state.Rejected.Length != attacks || state.Seconds.Length != attacks || state.Stage < 0 || state.Stage > attacks + 1 || state.NextBatch < 0)
            throw new InvalidDataException($"AutoAttack state file '{path}' is inconsistent with its own settings (array lengths or stage out of range).");
        return state;
    }

    /// <summary>Writes the state atomically: a reader (or a crash) sees the previous state or this one, never a mix.</summary>
    public void Save(string? path)
    {
        if (path is null) return;
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, JsonOptions));
    }

    /// <summary>Images still robust after every attack so far.</summary>
    public int RobustCount => Status.Count(s => s == Robust);

    /// <summary>The images attack <paramref name="attack"/> runs on, in ascending order: robust when it started.</summary>
    public int[] PointsFor(int attack)
    {
        var points = new List<int>();
        for (int i = 0; i < Status.Length; i++)
            if (Status[i] == Robust || Status[i] == attack) points.Add(i);
        return points.ToArray();
    }

    /// <summary>Images still classified correctly after attack <paramref name="attack"/> (and every one before it).</summary>
    public int RobustAfter(int attack) => Status.Count(s => s == Robust || s > attack);
}

/// <summary>
/// Everything that decides an AutoAttack run's result, in comparable text: a state file written under other
/// settings cannot be continued.
/// </summary>
internal sealed record AutoAttackStateSettings(
    string Norm,
    string Epsilon,
    string Tolerance,
    int BatchSize,
    int Seed,
    string[] Attacks,
    int Images,
    string Shape,
    string Labels,
    string Model)
{
    /// <summary>The settings of a run of <paramref name="attacks"/> with <paramref name="options"/> on this model and data.</summary>
    public static AutoAttackStateSettings Of(AutoAttackOptions options, IReadOnlyList<IAttack> attacks, Classifier classifier, IImageCollection data)
    {
        var c = CultureInfo.InvariantCulture;
        return new AutoAttackStateSettings(
            options.Norm.Name(),
            options.Epsilon.ToString("R", c),
            options.Tolerance.ToString("R", c),
            options.BatchSize,
            options.Seed,
            attacks.Select(a => $"{a.Name}: {a.Options}").ToArray(),
            data.Count,
            string.Create(c, $"{data.Channels}x{data.Height}x{data.Width}, {data.ClassNames.Count} classes"),
            LabelsFingerprint(data),
            ModelFingerprint(classifier));
    }

    /// <summary>The names of the settings that differ, each with both values.</summary>
    public IReadOnlyList<string> DifferencesFrom(AutoAttackStateSettings stored)
    {
        var differences = new List<string>();
        void Compare(string name, string here, string there)
        {
            if (here != there) differences.Add($"{name}: '{there}' in the file, '{here}' now");
        }
        var c = CultureInfo.InvariantCulture;
        Compare("norm", Norm, stored.Norm);
        Compare("epsilon", Epsilon, stored.Epsilon);
        Compare("tolerance", Tolerance, stored.Tolerance);
        Compare("batch size", BatchSize.ToString(c), stored.BatchSize.ToString(c));
        Compare("seed", Seed.ToString(c), stored.Seed.ToString(c));
        Compare("attacks", string.Join(" | ", Attacks), string.Join(" | ", stored.Attacks ?? []));
        Compare("images", Images.ToString(c), stored.Images.ToString(c));
        Compare("image shape", Shape, stored.Shape);
        Compare("labels", Labels, stored.Labels);
        Compare("model", Model, stored.Model);
        return differences;
    }

    // FNV-1a over the labels: a cheap check that the file belongs to this collection.
    private static string LabelsFingerprint(IImageCollection data)
    {
        ulong hash = 14695981039346656037UL;
        for (int i = 0; i < data.Count; i++)
        {
            hash ^= (ulong)data.GetLabel(i);
            hash *= 1099511628211UL;
        }
        return hash.ToString("x16", CultureInfo.InvariantCulture);
    }

    // Architecture, normalisation and two sums over every weight and buffer: another model gives another text.
    private static string ModelFingerprint(Classifier classifier)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        double sum = 0, absSum = 0;
        foreach (var (_, tensor) in classifier.Network.state_dict())
        {
            var t = tensor.to(ScalarType.Float64);
            sum += t.sum().item<double>();
            absSum += t.abs().sum().item<double>();
        }
        var c = CultureInfo.InvariantCulture;
        string mean = string.Join(",", classifier.Normalization.Mean.Select(m => m.ToString("R", c)));
        string std = string.Join(",", classifier.Normalization.Std.Select(s => s.ToString("R", c)));
        return string.Create(c, $"{classifier.Spec}, mean [{mean}], std [{std}], weights sum {sum:R}, abs sum {absSum:R}");
    }
}
