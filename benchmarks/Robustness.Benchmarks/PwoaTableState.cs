using System.Text.Json;
using System.Text.Json.Serialization;

namespace Robustness.Benchmarks;

/// <summary>
/// What fixes the outcome of a PwoA table run: the teacher (path and content hash), the data, the pruning recipe and
/// the evaluation. A resumed run must have the same; the sparsities and the methods may grow (new rows are added).
/// </summary>
public sealed record PwoaTableSettings
{
    public string TeacherFile { get; init; } = "";
    public string TeacherSha256 { get; init; } = "";
    public string TrainFolder { get; init; } = "";
    public int TrainImages { get; init; }
    public string TestFolder { get; init; } = "";
    public int TestImages { get; init; }

    /// <summary>Images of the class-balanced evaluation subset (0 = the whole test folder).</summary>
    public int EvalImages { get; init; }

    public string Profile { get; init; } = "paper";

    /// <summary>--admm-epochs, or null for the profile's.</summary>
    public int? AdmmEpochs { get; init; }

    /// <summary>--retrain-epochs, or null for the profile's.</summary>
    public int? RetrainEpochs { get; init; }

    public string Eps { get; init; } = "8/255";
    public bool AutoAttack { get; init; } = true;
    public int Seed { get; init; }
}

/// <summary>Wall time of one phase of a pruning run.</summary>
public sealed record PwoaTablePhase(string Phase, int Epochs, double Seconds, double? SecondsPerEpoch);

/// <summary>One pruned tensor's sparsity (from the library's SparsityReport).</summary>
public sealed record PwoaTableLayer(string Name, long[] Shape, long Total, long Zeros, double Sparsity);

/// <summary>One row: the teacher, or one method at one sparsity.</summary>
public sealed class PwoaTableRow
{
    public string Key { get; set; } = "";
    public string Method { get; set; } = "";

    /// <summary>The sparsity as given on the command line (4x, 0.75, 75%); "0" for the teacher.</summary>
    public string SparsityLabel { get; set; } = "0";
    public double TargetSparsity { get; set; }
    public string? Description { get; set; }
    public int? AdmmEpochs { get; set; }
    public int? RetrainEpochs { get; set; }
    public int? BatchSize { get; set; }
    public List<PwoaTablePhase>? Phases { get; set; }
    public double? AdmmSecondsPerEpoch { get; set; }
    public double? RetrainSecondsPerEpoch { get; set; }
    public double? PruneSeconds { get; set; }
    public string? StudentFile { get; set; }
    public string? PrunedUtc { get; set; }
    public double? OverallSparsity { get; set; }
    public List<PwoaTableLayer>? Layers { get; set; }
    public int? EvalImages { get; set; }
    public double? CleanAccuracy { get; set; }
    public double? PgdAccuracy { get; set; }
    public double? AutoAttackAccuracy { get; set; }
    public IReadOnlyList<string>? AutoAttackWarnings { get; set; }
    public double? EvalSeconds { get; set; }
    public string? FinishedUtc { get; set; }

    [JsonIgnore]
    public bool Finished => FinishedUtc is not null;
}

/// <summary>The teacher as its safetensors metadata describes it.</summary>
public sealed record PwoaTableTeacher(string Architecture, int Width, int Depth, int WidenFactor, int ImageSize, int Classes,
    long Parameters, IReadOnlyList<string> ClassNames, IReadOnlyList<float> Mean, IReadOnlyList<float> Std);

/// <summary>
/// The whole run as &lt;results&gt;/&lt;name&gt;.json holds it; rewritten (atomically) after every stage, so a killed run
/// loses at most the row it was in (and not even the pruning, once the student is saved).
/// </summary>
public sealed class PwoaTableState
{
    public string Benchmark { get; set; } = "pwoa-table";
    public PwoaTableSettings Settings { get; set; } = new();
    public PwoaTableTeacher? Teacher { get; set; }
    public string? TeacherRecipe { get; set; }
    public string Device { get; set; } = "cpu";
    public int Threads { get; set; }
    public MachineInfo? Machine { get; set; }
    public string? StartedUtc { get; set; }
    public string? UpdatedUtc { get; set; }
    public string? PgdAttack { get; set; }
    public string? AutoAttackDescription { get; set; }
    public List<PwoaTableRow> Rows { get; set; } = [];

    public PwoaTableRow Row(string method, string sparsityLabel, double sparsity)
    {
        string key = method == "teacher" ? "teacher" : $"{method}@{sparsityLabel}";
        var row = Rows.FirstOrDefault(r => r.Key == key);
        if (row is null)
        {
            row = new PwoaTableRow { Key = key, Method = method, SparsityLabel = sparsityLabel, TargetSparsity = sparsity };
            Rows.Add(row);
        }
        return row;
    }

    public static PwoaTableState? Read(string path) => ResultsFile.Read<PwoaTableState>(path, SepTableState.JsonOptions);

    public void Write(string path)
    {
        UpdatedUtc = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss 'UTC'");
        ResultsFile.Write(path, this, SepTableState.JsonOptions);
    }
}
