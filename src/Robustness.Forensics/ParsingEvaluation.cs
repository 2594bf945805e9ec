using System.Globalization;
using System.Text;
using System.Text.Json;
using Robustness.IO;

namespace Robustness.Forensics;

/// <summary>One trained-on / tested-on pair of the evaluation and what the parser scored.</summary>
/// <param name="Train">What the parser was trained on (an attack type, a PGD budget, <c>train victims</c>).</param>
/// <param name="Test">What it was tested on.</param>
/// <param name="Scores">Per-attribute accuracy and chance on the test examples.</param>
public sealed record ParsingCell(string Train, string Test, ParsingScores Scores);

/// <summary>Model parsing's evaluation (RED-adv's questions): in distribution, across attack types, across budgets, on unseen victims.</summary>
/// <param name="Schema">The attributes parsed.</param>
/// <param name="Input">What the parser saw.</param>
/// <param name="Options">The parser's recipe.</param>
/// <param name="CrossAttack">Train on one attack type (all its settings), test on each type; the diagonal is in distribution. Same victims, disjoint images.</param>
/// <param name="CrossBudget">Train on PGD at one budget, test on each PGD budget (empty when the records hold one PGD budget).</param>
/// <param name="HeldOutVictims">Train on every attack of the training victims, test per attack type on the held-out victims (dense networks never seen, with all their sparsities).</param>
/// <param name="Records">The record folder.</param>
/// <param name="Seconds">Wall time.</param>
/// <param name="Transfer">The transfer study (with a <see cref="TransferStudy"/> only).</param>
public sealed record ParsingReport(AttributeSchema Schema, ParsingInput Input, ParsingOptions Options, IReadOnlyList<ParsingCell> CrossAttack,
    IReadOnlyList<ParsingCell> CrossBudget, IReadOnlyList<ParsingCell> HeldOutVictims, string Records, double Seconds, TransferReport? Transfer = null)
{
    /// <summary>The in-distribution cells: trained and tested on the same attack type.</summary>
    public IReadOnlyList<ParsingCell> InDistribution => [.. CrossAttack.Where(c => c.Train == c.Test)];

    /// <summary>The report as Markdown: per-attribute accuracy with chance, and the matrices as mean accuracy over the attributes.</summary>
    public string ToMarkdown(string? heatMapFile = null, string? transferChartFile = null)
    {
        var c = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine(c, $"Attributes parsed: {string.Join(", ", Schema.Names.Select((n, i) => $"{n} ({string.Join("/", Schema.Values[i])})"))}. Input: {Input.ToString().ToLowerInvariant()}; parser: {Options.Backbone}, {Options.Epochs} epochs, batch {Options.BatchSize}, lr {Options.LearningRate}, seed {Options.Seed}.");
        md.AppendLine();
        md.AppendLine("In distribution (trained and tested on the same attack type, on different images), accuracy per attribute (chance in brackets: the most frequent value's share):");
        md.AppendLine();
        md.AppendLine($"| attack | examples | {string.Join(" | ", Schema.Names)} |");
        md.AppendLine($"|---|---:|{string.Concat(Schema.Names.Select(_ => "---:|"))}");
        foreach (var cell in InDistribution)
            md.AppendLine(c, $"| {cell.Test} | {cell.Scores.Examples:N0} | {string.Join(" | ", cell.Scores.Attributes.Select((_, i) => cell.Scores.Cell(i)))} |");
        md.AppendLine();
        Matrix(md, "Across attack types: mean accuracy over the attributes (rows: trained on, columns: tested on)", CrossAttack);
        if (CrossBudget.Count > 0) Matrix(md, "Across PGD budgets: mean accuracy over the attributes (rows: trained on, columns: tested on)", CrossBudget);
        if (HeldOutVictims.Count > 0)
        {
            md.AppendLine("Held-out victims (dense networks never seen in training), per attack type, accuracy per attribute (chance in brackets):");
            md.AppendLine();
            md.AppendLine($"| attack | examples | {string.Join(" | ", Schema.Names)} |");
            md.AppendLine($"|---|---:|{string.Concat(Schema.Names.Select(_ => "---:|"))}");
            foreach (var cell in HeldOutVictims)
                md.AppendLine(c, $"| {cell.Test} | {cell.Scores.Examples:N0} | {string.Join(" | ", cell.Scores.Attributes.Select((_, i) => cell.Scores.Cell(i)))} |");
            md.AppendLine();
        }
        if (InDistribution.Concat(HeldOutVictims).Any(x => x.Scores.AnyOneAnswer)) md.AppendLine(ParsingScores.OneAnswerNote).AppendLine();
        if (heatMapFile is not null) md.AppendLine($"![cross-attack matrix]({heatMapFile})").AppendLine();
        if (Transfer is not null) md.Append(Transfer.ToMarkdown(transferChartFile));
        return md.ToString();
    }

    private static void Matrix(StringBuilder md, string title, IReadOnlyList<ParsingCell> cells)
    {
        var c = CultureInfo.InvariantCulture;
        var rows = cells.Select(x => x.Train).Distinct().ToList();
        var columns = cells.Select(x => x.Test).Distinct().ToList();
        md.AppendLine(title + ":");
        md.AppendLine();
        md.AppendLine($"| trained on \\ tested on | {string.Join(" | ", columns)} |");
        md.AppendLine($"|---|{string.Concat(columns.Select(_ => "---:|"))}");
        foreach (var r in rows)
            md.AppendLine(c, $"| {r} | {string.Join(" | ", columns.Select(col => cells.FirstOrDefault(x => x.Train == r && x.Test == col) is { } cell ? cell.Scores.MeanAccuracy.ToString("P1", c) : "-"))} |");
        md.AppendLine();
    }
}

/// <summary>Runs model parsing's evaluation on an <see cref="AttackRecordSet"/> (trains one parser per row of each matrix).</summary>
/// <remarks>
/// With <see cref="ParsingInput.Denoised"/>, one DnCNN is first trained on every training-image record (all attacks, all
/// victims; l1 between x' - D(x') and the true perturbation), from scratch, and every parser then sees x' - D(x'). RED-adv
/// does more (main_parser.py): its DnCNN starts from a pretrained image denoiser and its parser from the perturbation
/// parser, frozen while the denoiser trains, and the two are then co-trained at small learning rates (parser 1e-3,
/// denoiser 1e-5, l1 + cross-entropy). None of that is done here yet: at the CPU scale the from-scratch DnCNN learns
/// next to nothing (benchmarks/results/protection-parsing-cpu.md), so read the denoised rows as a lower bound.
/// </remarks>
public sealed class ParsingEvaluation(ParsingOptions? options = null, ParsingInput input = ParsingInput.Perturbation, bool successfulOnly = true,
    DenoiserOptions? denoiser = null)
{
    /// <summary>The parser's recipe.</summary>
    public ParsingOptions Options { get; } = (options ?? new ParsingOptions()).Validate();

    /// <summary>The denoiser's recipe (used with <see cref="ParsingInput.Denoised"/>).</summary>
    public DenoiserOptions Denoiser { get; } = (denoiser ?? new DenoiserOptions()).Validate();

    /// <summary>
    /// Evaluates on <paramref name="records"/>: parsers train on the records' training images (and, for the cross-attack
    /// and cross-budget matrices, every victim) and are tested on its test images. With <paramref name="transfer"/>, one
    /// more parser trains on that setting over every victim and the <see cref="TransferParsing"/> study runs with it.
    /// </summary>
    public ParsingReport Run(AttackRecordSet records, IProgress<string>? progress = null, CancellationToken cancellationToken = default, TransferStudy? transfer = null)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (transfer is not null) TransferParsing.Check(records, transfer); // before hours of parsers, not after
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var schema = AttributeSchema.Of(records.Shards.Select(s => s.Attributes));
        var parser = new ModelParser(Options);
        var split = records.Splits;
        var types = RecordedAttack.Types.Where(t => records.Shards.Any(s => s.Attack == t)).ToList();

        using var dncnn = input == ParsingInput.Denoised ? Denoiser.Train(records, schema, split.TrainImages, successfulOnly, progress, cancellationToken) : null;

        ParsingData Data(Func<AttackShard, bool> filter, IReadOnlyList<int> images) => dncnn is null
            ? ParsingData.From(records, schema, filter, images, input, successfulOnly)
            : ParsingData.Denoised(records, schema, filter, images, dncnn, successfulOnly);

        IReadOnlyList<ParsingCell> Matrix(IReadOnlyList<(string Name, Func<AttackShard, bool> Filter)> groups, Func<AttackShard, bool> victims, Func<AttackShard, bool> testVictims, bool square)
        {
            var cells = new List<ParsingCell>();
            var testSets = groups.ToDictionary(g => g.Name, g => new Lazy<ParsingData?>(() => TryData(s => g.Filter(s) && testVictims(s), split.TestImages)));
            try
            {
                foreach (var (name, filter) in groups)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    using var train = TryData(s => filter(s) && victims(s), split.TrainImages);
                    if (train is null) continue;
                    progress?.Report($"training a parser on {name} ({Options.DescribeTraining(train.Count)})");
                    using var network = parser.Train(train, cancellationToken: cancellationToken);
                    foreach (var (other, _) in square ? groups : groups.Where(g => g.Name == name))
                        if (testSets[other].Value is { } test) cells.Add(new ParsingCell(name, other, ModelParser.Evaluate(network, test)));
                }
            }
            finally
            {
                foreach (var lazy in testSets.Values) if (lazy.IsValueCreated) lazy.Value?.Dispose();
            }
            return cells;
        }

        ParsingData? TryData(Func<AttackShard, bool> filter, IReadOnlyList<int> images)
        {
            try { return Data(filter, images); }
            catch (ArgumentException) { return null; } // no examples: a cell the table leaves empty
        }

        var crossAttack = Matrix([.. types.Select(t => (t, (Func<AttackShard, bool>)(s => s.Attack == t)))], _ => true, _ => true, square: true);
        var budgets = records.Shards.Where(s => s.Attack == "pgd").Select(s => s.Setting).Distinct().ToList();
        var crossBudget = budgets.Count > 1
            ? Matrix([.. budgets.Select(b => (b, (Func<AttackShard, bool>)(s => s.Setting == b)))], _ => true, _ => true, square: true)
            : [];

        var heldOut = new List<ParsingCell>();
        if (split.HeldOutVictims.Count > 0 && split.TrainVictims.Count > 0)
        {
            var trainVictims = split.TrainVictims.ToHashSet();
            var heldOutVictims = split.HeldOutVictims.ToHashSet();
            using var train = TryData(s => trainVictims.Contains(s.Victim), split.TrainImages);
            if (train is not null)
            {
                progress?.Report($"training a parser on the training victims ({Options.DescribeTraining(train.Count)})");
                using var network = parser.Train(train, cancellationToken: cancellationToken);
                foreach (var t in types)
                {
                    using var test = TryData(s => s.Attack == t && heldOutVictims.Contains(s.Victim), split.TestImages);
                    if (test is not null) heldOut.Add(new ParsingCell("train victims", t, ModelParser.Evaluate(network, test)));
                }
            }
        }
        TransferReport? transferReport = null;
        if (transfer is not null)
        {
            using var train = TryData(s => s.Setting == transfer.Setting, split.TrainImages)
                ?? throw new ArgumentException($"The records hold no successful '{transfer.Setting}' examples on the training images to train the transfer study's parser.", nameof(transfer));
            progress?.Report($"training a parser on {transfer.Setting} for the transfer study ({Options.DescribeTraining(train.Count)})");
            using var network = parser.Train(train, cancellationToken: cancellationToken);
            transferReport = TransferParsing.Run(records, transfer, network, input, dncnn, progress, cancellationToken);
        }
        return new ParsingReport(schema, input, Options, crossAttack, crossBudget, heldOut, records.Folder, clock.Elapsed.TotalSeconds, transferReport);
    }

    /// <summary>Writes <c>parsing.json</c>, <c>parsing.md</c>, the heat maps (<c>cross-attack.png</c>, <c>cross-budget.png</c>) and the transfer chart (<c>transfer.png</c>) to <paramref name="folder"/>.</summary>
    public static void Write(ParsingReport report, string folder)
    {
        ArgumentNullException.ThrowIfNull(report);
        Directory.CreateDirectory(folder);
        AtomicFile.Write(Path.Combine(folder, "parsing.json"), s => JsonSerializer.Serialize(s, report, ZooIndex.Json));
        HeatMap(Path.Combine(folder, "cross-attack.png"), "Model parsing across attack types (mean accuracy over attributes, %)", report.CrossAttack);
        if (report.CrossBudget.Count > 0) HeatMap(Path.Combine(folder, "cross-budget.png"), "Model parsing across PGD budgets (mean accuracy, %)", report.CrossBudget);
        report.Transfer?.Chart(Path.Combine(folder, "transfer.png"));
        AtomicFile.WriteAllText(Path.Combine(folder, "parsing.md"), "# Model parsing\n\n" + report.ToMarkdown("cross-attack.png", "transfer.png"));
    }

    /// <summary>Draws a trained-on x tested-on matrix of mean accuracies as a PNG heat map with the values written in.</summary>
    public static void HeatMap(string path, string title, IReadOnlyList<ParsingCell> cells)
    {
        ArgumentNullException.ThrowIfNull(cells);
        var rows = cells.Select(x => x.Train).Distinct().ToList();
        var columns = cells.Select(x => x.Test).Distinct().ToList();
        if (rows.Count == 0 || columns.Count == 0) throw new ArgumentException("There are no cells to draw.", nameof(cells));
        var values = new double[rows.Count, columns.Count];
        for (int r = 0; r < rows.Count; r++)
            for (int col = 0; col < columns.Count; col++)
                values[r, col] = cells.FirstOrDefault(x => x.Train == rows[r] && x.Test == columns[col]) is { } cell ? 100 * cell.Scores.MeanAccuracy : double.NaN;
        PercentHeatMap.Write(path, title, values, rows, columns, "tested on", "trained on", cellWidth: 90, cellHeight: 60, fontSize: 14);
    }
}
