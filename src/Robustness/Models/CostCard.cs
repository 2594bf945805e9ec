using System.Globalization;
using System.Text;
using Robustness.Attacks;
using Robustness.Attacks.Evaluation;
using Robustness.Data;
using Robustness.Training;

namespace Robustness.Models;

/// <summary>
/// The card every model a module produces gets, so models compare on one footing: architecture, parameters, MACs of
/// one image (the family's count, aware of a ViT's token selection), measured latency, and, when test data is given,
/// clean accuracy and robust accuracy under an attack of the suite.
/// </summary>
/// <param name="Architecture">The family name.</param>
/// <param name="Description">The spec in words (width, depth, parameters).</param>
/// <param name="Parameters">Weights and biases.</param>
/// <param name="Macs">Multiply-accumulates of one forward on one image.</param>
/// <param name="Latency">Measured forward latency per batch size.</param>
/// <param name="Device">Where it ran.</param>
/// <param name="Threads">Intra-op threads during the latency measurement.</param>
/// <param name="CleanAccuracy">Accuracy on the test data, or null without data.</param>
/// <param name="RobustAccuracy">Accuracy under <paramref name="Attack"/>, or null without data or attack.</param>
/// <param name="Attack">The attack, as it describes itself.</param>
/// <param name="TestImages">Images the accuracies are measured on.</param>
public sealed record CostCard(string Architecture, string Description, long Parameters, long Macs, IReadOnlyList<LatencyMeasurement> Latency,
    string Device, int Threads, double? CleanAccuracy = null, double? RobustAccuracy = null, string? Attack = null, int? TestImages = null)
{
    /// <summary>
    /// The card of <paramref name="classifier"/>: cost always; accuracy on <paramref name="test"/> when given, and robust
    /// accuracy under <paramref name="attack"/> when both are given.
    /// </summary>
    public static CostCard For(Classifier classifier, LatencyOptions? latency = null, IImageCollection? test = null, IAttack? attack = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        var o = (latency ?? new LatencyOptions()).Validate();
        var measured = LatencyHarness.Measure(classifier, o, cancellationToken);
        double? clean = null, robust = null;
        if (test is not null)
        {
            if (attack is null) clean = new Evaluator().Evaluate(classifier, test, cancellationToken).Accuracy;
            else
            {
                var report = new RobustnessEvaluation().Evaluate(classifier, test, [attack], cancellationToken: cancellationToken);
                clean = report.CleanAccuracy;
                robust = report.Entries[0].RobustAccuracy;
            }
        }
        var s = classifier.Spec;
        string description = string.Create(CultureInfo.InvariantCulture,
            $"{s.Architecture} width {(s.Width == 0 ? "standard" : s.Width.ToString(CultureInfo.InvariantCulture))}{(s.Depth == 0 ? "" : $", depth {s.Depth}")}{(s.WidenFactor == 0 ? "" : $", widen {s.WidenFactor}")}{(s.Parameters.Count == 0 ? "" : $", {s.Parameters}")}, {s.InputChannels}x{s.ImageSize}x{s.ImageSize}, {s.Classes} classes");
        return new CostCard(s.Architecture, description, classifier.ParameterCount, classifier.Macs, measured, classifier.Device.ToString(),
            o.Threads ?? TorchSharp.torch.get_num_threads(), clean, robust, test is null ? null : attack?.ToString(), test?.Count);
    }

    /// <summary>One Markdown table row (see <see cref="MarkdownHeader"/>).</summary>
    public string ToMarkdownRow()
    {
        var c = CultureInfo.InvariantCulture;
        string latency = string.Join("; ", Latency.Select(l => string.Create(c, $"b{l.BatchSize}: {l.MedianMs:F2} ms (IQR {l.IqrMs:F2})")));
        string accuracy = CleanAccuracy is double a ? a.ToString("P2", c) : "-";
        string robust = RobustAccuracy is double r ? r.ToString("P2", c) : "-";
        return string.Create(c, $"| {Description} | {Parameters:N0} | {Macs:N0} | {latency} | {accuracy} | {robust} |");
    }

    /// <summary>The header of the Markdown table of cards.</summary>
    public static string MarkdownHeader =>
        "| model | parameters | MACs / image | latency (median, IQR) | clean accuracy | robust accuracy |" + Environment.NewLine +
        "|---|---:|---:|---|---:|---:|";

    /// <summary>Cards as a Markdown table, with the device, threads and attack stated.</summary>
    public static string ToMarkdown(IReadOnlyList<CostCard> cards)
    {
        ArgumentNullException.ThrowIfNull(cards);
        var md = new StringBuilder();
        if (cards.Count > 0)
            md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"Device {cards[0].Device}, {cards[0].Threads} threads{(cards[0].Attack is { } a ? $"; robust accuracy under {a} on {cards[0].TestImages} images" : "")}."))
                .AppendLine();
        md.AppendLine(MarkdownHeader);
        foreach (var card in cards) md.AppendLine(card.ToMarkdownRow());
        return md.ToString();
    }
}
