using System.Globalization;
using System.Text;
using Robustness.IO;
using Robustness.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Forensics;

/// <summary>Which attack setting the transfer study replays and where the victims that receive it are.</summary>
/// <param name="ZooFolder">The victim zoo the records were made from (every source victim is also a target).</param>
/// <param name="Setting">The recorded setting replayed on the other victims (a shard label, e.g. <c>pgd-eps8</c>, RED-adv's choice).</param>
public sealed record TransferStudy(string ZooFolder, string Setting = "pgd-eps8");

/// <summary>One source victim's examples replayed on one target victim.</summary>
/// <param name="Source">The victim the attack was crafted on.</param>
/// <param name="Target">The victim it was sent to.</param>
/// <param name="SourceExamples">The source's test examples replayed (the source was right on the clean image and the attack fooled it).</param>
/// <param name="TargetCorrect">Of those, clean images the target classifies correctly.</param>
/// <param name="Transferred">Of those, adversarial images the target gets wrong: the transfers that succeeded.</param>
/// <param name="AsSource">Per attribute: successful transfers the parser assigns the source's value.</param>
/// <param name="AsTarget">Per attribute: successful transfers the parser assigns the target's value.</param>
public sealed record TransferPair(string Source, string Target, int SourceExamples, int TargetCorrect, int Transferred,
    IReadOnlyList<int> AsSource, IReadOnlyList<int> AsTarget);

/// <summary>What the parser names for one attribute, over the successful transfers between victims that differ in it.</summary>
/// <param name="Attribute">The attribute.</param>
/// <param name="Values">How many values it has (a parser guessing uniformly names any one value 1 / Values of the time).</param>
/// <param name="Transfers">Successful transfers whose source and target differ in the attribute.</param>
/// <param name="AsSource">Share of them parsed as the source's value.</param>
/// <param name="AsTarget">Share of them parsed as the target's value.</param>
/// <param name="SourceAccuracy">For reference: the parser's accuracy on the attribute over the source victims' own examples (in distribution).</param>
public sealed record TransferAttributeScore(string Attribute, int Values, long Transfers, double AsSource, double AsTarget, double SourceAccuracy);

/// <summary>
/// RED-adv's transfer question: an attack crafted on one victim (the source) and sent to another (the target) that it
/// also fools: does the parser name the source, which made the perturbation, or the target, which it fooled?
/// </summary>
/// <param name="Setting">The replayed setting.</param>
/// <param name="Schema">The attributes parsed.</param>
/// <param name="Victims">Victims taking part (each is a source and a target).</param>
/// <param name="SourceExamples">Source examples replayed, summed over the sources.</param>
/// <param name="Attempts">(pair, image) transfers attempted on targets that classify the clean image correctly.</param>
/// <param name="Transferred">Of those, the transfers that fooled the target.</param>
/// <param name="Attributes">Per attribute, source against target.</param>
/// <param name="Pairs">Every ordered (source, target) pair.</param>
public sealed record TransferReport(string Setting, AttributeSchema Schema, int Victims, long SourceExamples, long Attempts, long Transferred,
    IReadOnlyList<TransferAttributeScore> Attributes, IReadOnlyList<TransferPair> Pairs)
{
    /// <summary>The section of the parsing report.</summary>
    public string ToMarkdown(string? chartFile = null)
    {
        var c = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine(c, $"Transfer attacks ({Setting} crafted on each of {Victims} victims, on the test images that victim got right and the attack fooled, {SourceExamples:N0} examples, then sent to every other victim): "
            + $"{Transferred:N0} of {Attempts:N0} transfers fooled a target that was right on the clean image ({(Attempts == 0 ? 0 : (double)Transferred / Attempts):P1}). "
            + $"A parser trained on {Setting} over every victim's training images names, per attribute, over the successful transfers between victims that differ in it:");
        md.AppendLine();
        md.AppendLine("| attribute | values | transfers | parsed as the source's value | parsed as the target's value | parser on the sources' own examples |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var a in Attributes)
            md.AppendLine(c, $"| {a.Attribute} | {a.Values} | {a.Transfers:N0} | {a.AsSource:P1} | {a.AsTarget:P1} | {a.SourceAccuracy:P1} |");
        md.AppendLine();
        md.AppendLine("(A parser that ignored the perturbation would name the source's and the target's value about equally often.)");
        md.AppendLine();
        if (chartFile is not null) md.AppendLine(c, $"![transfer attacks]({chartFile})").AppendLine();
        return md.ToString();
    }

    /// <summary>Draws, per attribute, the shares parsed as the source's and as the target's value as grouped bars (PNG).</summary>
    public void Chart(string path)
    {
        var plot = new ScottPlot.Plot();
        var sourceColor = ScottPlot.Colors.SteelBlue;
        var targetColor = ScottPlot.Colors.Orange;
        var bars = new List<ScottPlot.Bar>();
        for (int i = 0; i < Attributes.Count; i++)
        {
            bars.Add(new ScottPlot.Bar { Position = 3 * i, Value = 100 * Attributes[i].AsSource, FillColor = sourceColor, Label = $"{100 * Attributes[i].AsSource:F0}%" });
            bars.Add(new ScottPlot.Bar { Position = 3 * i + 1, Value = 100 * Attributes[i].AsTarget, FillColor = targetColor, Label = $"{100 * Attributes[i].AsTarget:F0}%" });
        }
        var series = plot.Add.Bars(bars);
        series.ValueLabelStyle.FontSize = 13;
        plot.Axes.Bottom.SetTicks([.. Attributes.Select((_, i) => 3.0 * i + 0.5)], [.. Attributes.Select(a => a.Attribute)]);
        plot.Axes.SetLimitsY(0, 105);
        plot.YLabel("successful transfers (%)");
        plot.Title($"Transfer attacks ({Setting}): whom does the parser name?");
        plot.Legend.ManualItems.Add(new ScottPlot.LegendItem { LabelText = "the source's value (crafted on)", FillColor = sourceColor });
        plot.Legend.ManualItems.Add(new ScottPlot.LegendItem { LabelText = "the target's value (fooled)", FillColor = targetColor });
        plot.Legend.Alignment = ScottPlot.Alignment.UpperRight;
        plot.ShowLegend();
        byte[] png = plot.GetImageBytes(160 + 150 * Attributes.Count, 380, ScottPlot.ImageFormat.Png);
        AtomicFile.Write(path, s => s.Write(png));
    }
}

/// <summary>
/// Replays one recorded attack setting of every victim on every other victim of the zoo and asks a parser whom it
/// names (RED-adv's <c>transfer_attack.py</c>). Only the records' test images are replayed, so a parser trained on the
/// training images has seen none of them. A transfer counts as successful when the target classifies the clean image
/// correctly and the adversarial one wrongly (RED-adv counts every misclassification; with the cpu grid's weak victims
/// most clean images are already misclassified, which would count as transfers).
/// </summary>
public static class TransferParsing
{
    /// <summary>
    /// Runs the study with <paramref name="parser"/>, which sees <paramref name="input"/> (with
    /// <see cref="ParsingInput.Denoised"/>, x' - D(x') from <paramref name="denoiser"/>).
    /// </summary>
    public static TransferReport Run(AttackRecordSet records, TransferStudy study, ModelParsingNetwork parser, ParsingInput input, DnCnn? denoiser = null,
        IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(study);
        ArgumentNullException.ThrowIfNull(parser);
        if (input == ParsingInput.Denoised && denoiser is null) throw new ArgumentException("Denoised inputs need a denoiser.", nameof(denoiser));
        var files = Check(records, study);
        var shards = records.Shards.Where(s => s.Setting == study.Setting).ToList();

        var schema = parser.Schema;
        var sources = new List<Source>();
        try
        {
            using (var scope = torch.NewDisposeScope())
            {
                var (clean, labels) = records.Clean();
                var rows = torch.tensor(records.Splits.TestImages.Select(i => (long)i).ToArray());
                var cleanRows = clean.index_select(0, rows);
                var labelRows = labels.index_select(0, rows);
                foreach (var shard in shards)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    using var shardScope = torch.NewDisposeScope();
                    var (adversarial, cleanPredictions, predictions) = records.Read(shard);
                    var keep = cleanPredictions.index_select(0, rows).eq(labelRows).logical_and(predictions.index_select(0, rows).ne(labelRows)).nonzero().squeeze(1);
                    var x = cleanRows.index_select(0, keep);
                    var xAdv = adversarial.index_select(0, rows).index_select(0, keep);
                    var parsed = ModelParser.Predict(parser, input switch
                    {
                        ParsingInput.Perturbation => xAdv.sub(x),
                        ParsingInput.Adversarial => xAdv,
                        _ => denoiser!.Residual(xAdv),
                    });
                    sources.Add(new Source(shard.Victim, schema.Labels(shard.Attributes), x.DetachFromDisposeScope(), xAdv.DetachFromDisposeScope(),
                        labelRows.index_select(0, keep).DetachFromDisposeScope(), parsed));
                }
            }

            var pairs = new List<TransferPair>();
            foreach (var target in sources)
            {
                cancellationToken.ThrowIfCancellationRequested();
                progress?.Report($"transfer: sending every other victim's {study.Setting} examples to {target.Victim}");
                using var model = Classifier.Load(Path.Combine(study.ZooFolder, files[target.Victim]));
                model.Eval();
                foreach (var source in sources.Where(s => s.Victim != target.Victim))
                    pairs.Add(Replay(model, source, target));
            }

            var attributes = schema.Names.Select((name, a) =>
            {
                var differing = pairs.Where(p => AttributesOf(sources, p.Source)[a] != AttributesOf(sources, p.Target)[a]).ToList();
                long transfers = differing.Sum(p => (long)p.Transferred);
                long own = sources.Sum(s => (long)s.Parsed.Length);
                double accuracy = own == 0 ? 0 : sources.Sum(s => s.Parsed.Count(row => row[a] == s.Attributes[a])) / (double)own;
                return new TransferAttributeScore(name, schema.Values[a].Count, transfers,
                    transfers == 0 ? 0 : differing.Sum(p => (long)p.AsSource[a]) / (double)transfers,
                    transfers == 0 ? 0 : differing.Sum(p => (long)p.AsTarget[a]) / (double)transfers, accuracy);
            }).ToList();
            return new TransferReport(study.Setting, schema, sources.Count, sources.Sum(s => (long)s.Parsed.Length), pairs.Sum(p => (long)p.TargetCorrect),
                pairs.Sum(p => (long)p.Transferred), attributes, pairs);
        }
        finally
        {
            foreach (var s in sources) s.Dispose();
        }
    }

    /// <summary>
    /// Checks that <paramref name="study"/> can run on <paramref name="records"/> (a zoo that holds every victim, two or
    /// more victims attacked with the setting) and returns each victim's model file; throws <see cref="ArgumentException"/> otherwise.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Check(AttackRecordSet records, TransferStudy study)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(study);
        var zoo = ZooIndex.Read(study.ZooFolder) ?? throw new ArgumentException($"'{study.ZooFolder}' holds no victim zoo (no {ZooIndex.FileName}).", nameof(study));
        var files = zoo.Victims.ToDictionary(v => v.Id, v => v.File);
        var shards = records.Shards.Where(s => s.Setting == study.Setting).ToList();
        if (shards.Count < 2)
            throw new ArgumentException($"The records hold {shards.Count} victim(s) attacked with '{study.Setting}'; a transfer needs two (settings recorded: {string.Join(", ", records.Shards.Select(s => s.Setting).Distinct())}).", nameof(study));
        foreach (var s in shards)
            if (!files.ContainsKey(s.Victim)) throw new ArgumentException($"Victim {s.Victim} of the records is not in the zoo '{study.ZooFolder}'.", nameof(study));
        return files;
    }

    private static long[] AttributesOf(List<Source> sources, string victim) => sources.First(s => s.Victim == victim).Attributes;

    // The target's verdict on the source's examples, and whom the parser named for the ones that fooled it.
    private static TransferPair Replay(Classifier target, Source source, Source targetSource)
    {
        int attributes = source.Attributes.Length;
        var asSource = new int[attributes];
        var asTarget = new int[attributes];
        if (source.Parsed.Length == 0) return new TransferPair(source.Victim, targetSource.Victim, 0, 0, 0, asSource, asTarget);
        using var scope = torch.NewDisposeScope();
        var correct = target.Predict(source.Clean).eq(source.Classes);
        var fooled = target.Predict(source.Adversarial).ne(source.Classes);
        bool[] right = correct.data<bool>().ToArray();
        bool[] transferred = correct.logical_and(fooled).data<bool>().ToArray();
        for (int i = 0; i < transferred.Length; i++)
        {
            if (!transferred[i]) continue;
            for (int a = 0; a < attributes; a++)
            {
                if (source.Parsed[i][a] == source.Attributes[a]) asSource[a]++;
                if (source.Parsed[i][a] == targetSource.Attributes[a]) asTarget[a]++;
            }
        }
        return new TransferPair(source.Victim, targetSource.Victim, source.Parsed.Length, right.Count(b => b), transferred.Count(b => b), asSource, asTarget);
    }

    // A source victim's replayed examples (test images it got right and the attack fooled) and what the parser named.
    private sealed record Source(string Victim, long[] Attributes, Tensor Clean, Tensor Adversarial, Tensor Classes, long[][] Parsed) : IDisposable
    {
        public void Dispose()
        {
            Clean.Dispose();
            Adversarial.Dispose();
            Classes.Dispose();
        }
    }
}
