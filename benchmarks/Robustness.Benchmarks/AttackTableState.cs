using System.Text.Json;
using System.Text.Json.Serialization;
using Robustness.Attacks.Evaluation;

namespace Robustness.Benchmarks;

/// <summary>
/// What fixes the outcome of an attack table run: the images, the budget, the batch (attacks draw their randomness per
/// batch) and the seed. A resumed run must have the same; models and attacks may be added (new rows). The device is
/// not part of it (GPU and CPU numbers differ only by float rounding) but is recorded on every row.
/// </summary>
public sealed record AttackTableSettings
{
    public string DataFolder { get; init; } = "";
    public int Images { get; init; } = 1000;
    public string Eps { get; init; } = "8/255";
    public double Epsilon { get; init; } = 8.0 / 255.0;

    /// <summary>The l2 budget at which an l2-only minimum-norm attack (CW-l2) is judged: RobustBench's l2 budget.</summary>
    public double L2Bound { get; init; } = 0.5;

    public int Batch { get; init; } = 256;
    public int Seed { get; init; }
}

/// <summary>One model of the table, as its safetensors file describes it.</summary>
public sealed class AttackTableModel
{
    public string Name { get; set; } = "";
    public string File { get; set; } = "";
    public string Sha256 { get; set; } = "";
    public string Architecture { get; set; } = "";
    public int Width { get; set; }
    public int Depth { get; set; }
    public int WidenFactor { get; set; }
    public int ImageSize { get; set; }
    public int Classes { get; set; }
    public IReadOnlyList<float> Mean { get; set; } = [];
    public IReadOnlyList<float> Std { get; set; } = [];
    public long Parameters { get; set; }
}

/// <summary>
/// One row: a model's clean accuracy (<c>Attack == "clean"</c>), its robust accuracy under one attack, or the
/// AutoAttack-style standard evaluation (<c>Attack == "autoattack"</c>, with the library's report embedded).
/// </summary>
public sealed class AttackTableRow
{
    public string Key { get; set; } = "";
    public string Model { get; set; } = "";
    public string Attack { get; set; } = "";

    /// <summary>The attack's options as it ran with them (every property of its options record).</summary>
    public string Settings { get; set; } = "";

    /// <summary>How a success is counted (budget in which norm; minimum-norm attacks are judged at a bound).</summary>
    public string? Judged { get; set; }

    public double? Accuracy { get; set; }
    public int? CleanCorrect { get; set; }
    public RobustAccuracyEntry? Entry { get; set; }
    public AutoAttackReport? AutoAttack { get; set; }
    public double? WallSeconds { get; set; }
    public double? ImagesPerSecond { get; set; }
    public string? Device { get; set; }
    public int? Threads { get; set; }
    public string? FinishedUtc { get; set; }

    [JsonIgnore]
    public bool Done => Accuracy is not null;
}

/// <summary>The results JSON of an attack table run, rewritten atomically after every row.</summary>
public sealed class AttackTableState
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter() },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public string Benchmark { get; set; } = "attack-table";
    public AttackTableSettings Settings { get; set; } = new();
    public string Device { get; set; } = "cpu";
    public int Threads { get; set; }
    public MachineInfo? Machine { get; set; }
    public string? StartedUtc { get; set; }
    public string? UpdatedUtc { get; set; }
    public List<AttackTableModel> Models { get; set; } = [];
    public List<AttackTableRow> Rows { get; set; } = [];

    public AttackTableRow Row(string model, string attack)
    {
        string key = $"{model}/{attack}";
        var row = Rows.FirstOrDefault(r => r.Key == key);
        if (row is null)
        {
            row = new AttackTableRow { Key = key, Model = model, Attack = attack };
            Rows.Add(row);
        }
        return row;
    }

    public static AttackTableState? Read(string path) => ResultsFile.Read<AttackTableState>(path, JsonOptions);

    public void Write(string path)
    {
        UpdatedUtc = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss 'UTC'");
        ResultsFile.Write(path, this, JsonOptions);
    }
}
