using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using TorchSharp;

namespace Robustness.Pruning;

/// <summary>Zeros of one pruned tensor.</summary>
/// <param name="Name">The parameter's name.</param>
/// <param name="Shape">Its shape.</param>
/// <param name="Total">Number of entries.</param>
/// <param name="Zeros">Entries exactly zero.</param>
public sealed record LayerSparsity(string Name, long[] Shape, long Total, long Zeros)
{
    /// <summary>Zeros / Total.</summary>
    public double Sparsity => Total == 0 ? 0 : (double)Zeros / Total;
}

/// <summary>
/// The true sparsity of a network's pruned tensors: zeros counted in the weights themselves, per layer and overall.
/// Overall counts only the tensors listed in <see cref="Layers"/> (<see cref="CountedTensors"/>): biases, BatchNorm
/// parameters and anything else left unpruned are not in the denominator, and the report says so.
/// </summary>
public sealed record SparsityReport(IReadOnlyList<LayerSparsity> Layers)
{
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>Entries in the counted tensors.</summary>
    public long Total => Layers.Sum(l => l.Total);

    /// <summary>Zeros in the counted tensors.</summary>
    public long Zeros => Layers.Sum(l => l.Zeros);

    /// <summary>Zeros / Total over the counted tensors only.</summary>
    public double Overall => Total == 0 ? 0 : (double)Zeros / Total;

    /// <summary>The names of the tensors the overall figure counts.</summary>
    public IReadOnlyList<string> CountedTensors => Layers.Select(l => l.Name).ToArray();

    /// <summary>Measures every prunable weight of <paramref name="classifier"/> (<see cref="PrunableParameters"/>).</summary>
    public static SparsityReport Measure(Classifier classifier)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        return Measure(PrunableParameters.Select(classifier));
    }

    /// <summary>Measures the parameters of <paramref name="classifier"/> that <paramref name="masks"/> prunes.</summary>
    public static SparsityReport Measure(Classifier classifier, MaskSet masks)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(masks);
        var names = masks.ParameterNames.ToHashSet(StringComparer.Ordinal);
        var selected = classifier.Network.named_parameters().Where(p => names.Contains(p.name))
            .Select(p => new PrunableParameter(p.name, p.parameter, "")).ToArray();
        if (selected.Length != names.Count)
            throw new ArgumentException("The network lacks parameters that the mask set prunes.", nameof(masks));
        return Measure(selected);
    }

    /// <summary>Measures <paramref name="parameters"/>.</summary>
    public static SparsityReport Measure(IEnumerable<PrunableParameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var layers = new List<LayerSparsity>();
        foreach (var p in parameters)
        {
            using var scope = torch.NewDisposeScope();
            long nonZeros = p.Weight.detach().count_nonzero().item<long>();
            long total = p.Weight.numel();
            layers.Add(new LayerSparsity(p.Name, p.Weight.shape.ToArray(), total, total - nonZeros));
        }
        return new SparsityReport(layers);
    }

    /// <summary>The report as indented JSON (layers, counted tensors, totals and overall sparsity).</summary>
    public string ToJson() => JsonSerializer.Serialize(new JsonShape(
        Layers.Select(l => new JsonLayer(l.Name, l.Shape, l.Total, l.Zeros, l.Sparsity)).ToArray(),
        CountedTensors, Total, Zeros, Overall), JsonOptions);

    /// <summary>The report as a Markdown table, one row per layer and a total row, with a note on what is counted.</summary>
    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.AppendLine("| layer | shape | weights | zeros | sparsity |");
        text.AppendLine("|---|---|---:|---:|---:|");
        foreach (var l in Layers)
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {l.Name} | {string.Join("x", l.Shape)} | {l.Total} | {l.Zeros} | {l.Sparsity:P2} |"));
        text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| **overall** | | {Total} | {Zeros} | {Overall:P2} |"));
        text.AppendLine();
        text.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"Overall counts only the {Layers.Count} pruned tensors listed (conv and linear weights); biases and BatchNorm parameters are not counted."));
        return text.ToString();
    }

    private sealed record JsonLayer(string Name, long[] Shape, long Total, long Zeros, double Sparsity);

    private sealed record JsonShape(JsonLayer[] Layers, IReadOnlyList<string> CountedTensors, long Total, long Zeros,
        [property: JsonPropertyName("overallSparsity")] double Overall);
}
