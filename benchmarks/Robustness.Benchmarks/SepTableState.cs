using System.Text.Json;
using System.Text.Json.Serialization;

namespace Robustness.Benchmarks;

/// <summary>
/// What fixes the outcome of a SEP table run: the data, the source model, the crafting and the victim. A resumed
/// run must have the same; the eps list and the methods may grow (new rows are added).
/// </summary>
public sealed record SepTableSettings
{
    public int TrainPerClass { get; init; } = 200;
    public int TestImages { get; init; } = 10_000;
    public string Architecture { get; init; } = "resnet18";
    public int Width { get; init; } = 16;
    public int Epochs { get; init; } = 30;
    public int CheckpointCount { get; init; } = 5;
    public int Iterations { get; init; } = 30;
    public int InnerSteps { get; init; } = 15;
    public int SourceSeed { get; init; }
    public int VictimSeed { get; init; } = 1;

    /// <summary>A folder name that differs whenever the source model or its data differ.</summary>
    [JsonIgnore]
    public string SourceKey => $"{Architecture}-w{Width}-e{Epochs}-pc{TrainPerClass}-test{TestImages}-s{SourceSeed}";
}

/// <summary>One row of the table: a victim trained on one version of the training set.</summary>
public sealed class SepTableRow
{
    public string Key { get; set; } = "";
    public string Method { get; set; } = "";
    public string Eps { get; set; } = "0";
    public int EpsLevels { get; set; }
    public IReadOnlyList<int>? SelectedEpochs { get; set; }
    public double? CraftingSeconds { get; set; }
    public double? CraftingImagesPerSecond { get; set; }
    public long? GradientCalls { get; set; }
    public int? MaxDeltaLevels { get; set; }
    public double? MeanAbsDeltaLevels { get; set; }
    public string? ProtectedFile { get; set; }
    public double? VictimTestAccuracy { get; set; }
    public double? VictimTrainAccuracy { get; set; }
    public double? VictimSeconds { get; set; }
    public string? FinishedUtc { get; set; }
}

/// <summary>The source model's outcome.</summary>
public sealed class SepTableSource
{
    public double TestAccuracy { get; set; }
    public double TrainSeconds { get; set; }
    public double ImagesPerSecond { get; set; }
    public IReadOnlyList<int> CheckpointEpochs { get; set; } = [];
    public string CheckpointFolder { get; set; } = "";
}

/// <summary>
/// The whole run as benchmarks/results/&lt;name&gt;.json holds it; rewritten (atomically) after every stage, so a killed
/// run loses at most the stage it was in.
/// </summary>
public sealed class SepTableState
{
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public string Benchmark { get; set; } = "sep-cifar10-reduced-scale";
    public SepTableSettings Settings { get; set; } = new();
    public string Device { get; set; } = "cpu";
    public int Threads { get; set; }
    public int CraftBatch { get; set; } = 128;
    public List<string>? MergedFrom { get; set; }
    public MachineInfo? Machine { get; set; }
    public string? StartedUtc { get; set; }
    public string? UpdatedUtc { get; set; }
    public double? DataSeconds { get; set; }
    public SepTableSource? Source { get; set; }
    public List<SepTableRow> Rows { get; set; } = [];
    public string Note { get; set; } =
        "Victim = fresh model, same architecture and recipe as the source, trained on the (protected) training set with true labels; accuracy on the clean test images.";

    public SepTableRow Row(string method, string eps, int levels)
    {
        string key = $"{method}@{levels}";
        var row = Rows.FirstOrDefault(r => r.Key == key);
        if (row is null)
        {
            row = new SepTableRow { Key = key, Method = method, Eps = eps, EpsLevels = levels };
            Rows.Add(row);
        }
        return row;
    }

    public static SepTableState? Read(string path) => ResultsFile.Read<SepTableState>(path, JsonOptions);

    public void Write(string path)
    {
        UpdatedUtc = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss 'UTC'");
        ResultsFile.Write(path, this, JsonOptions);
    }
}
