using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Robustness.Data;
using Robustness.IO;
using Robustness.Models;
using Robustness.Protection;
using Robustness.Training;
using Robustness.Validation;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Forensics;

/// <summary>One protector of the study: SEP from a source model of <paramref name="Architecture"/> averaging <paramref name="Checkpoints"/> of its training checkpoints.</summary>
/// <param name="Architecture">The source model's architecture (<see cref="VictimArchitectures.Names"/>).</param>
/// <param name="Checkpoints">K, the checkpoints SEP averages (1: the final checkpoint alone, adversarial poisoning).</param>
public sealed record ProtectorIdentity(string Architecture, int Checkpoints)
{
    /// <summary>A file-name-safe id: <c>resnet18-k5</c>.</summary>
    public string Id => string.Create(CultureInfo.InvariantCulture, $"{Architecture}-k{Checkpoints}");
}

/// <summary>How the protection-parsing study is run.</summary>
public sealed record ProtectionParsingOptions
{
    /// <summary>Source architectures (ReLU, 3x3 kernels, at <see cref="Width"/>).</summary>
    public IReadOnlyList<string> Architectures { get; init; } = ["resnet18", "vgg11", "resnet20"];

    /// <summary>Checkpoint counts K (each at most <see cref="SourceEpochs"/>).</summary>
    public IReadOnlyList<int> CheckpointCounts { get; init; } = [1, 3, 5];

    /// <summary>Width of every source model.</summary>
    public int Width { get; init; } = 16;

    /// <summary>Epochs of each source model's training (SEP's recipe, a checkpoint per epoch).</summary>
    public int SourceEpochs { get; init; } = 6;

    /// <summary>Images protected by every protector (the same images, a seeded choice).</summary>
    public int Images { get; init; } = 500;

    /// <summary>SEP's crafting settings (budget, iterations, step); the variant is plain SEP.</summary>
    public SepOptions Sep { get; init; } = new() { Iterations = 10 };

    /// <summary>Images per crafting batch.</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>Share of the protected images the parsers are tested on (split by image: the parser never saw them under any protector).</summary>
    public double TestFraction { get; init; } = 0.2;

    /// <summary>The parsers' recipe.</summary>
    public ParsingOptions Parser { get; init; } = new() { Epochs = 30 };

    /// <summary>
    /// The DnCNN for the realistic case, the protected image alone: trained on the training images' protected images
    /// against their true perturbations, its residual x' - D(x') is a third parser input. Null skips that row.
    /// </summary>
    public DenoiserOptions? Denoiser { get; init; } = new();

    /// <summary>Seed of the image choice, the split, the source models and SEP.</summary>
    public int Seed { get; init; }

    /// <summary>The protectors: every architecture x checkpoint count.</summary>
    public IReadOnlyList<ProtectorIdentity> Protectors => [.. Architectures.SelectMany(a => CheckpointCounts.Select(k => new ProtectorIdentity(a, k)))];

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> or <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public ProtectionParsingOptions Validate()
    {
        if (Architectures.Count == 0) throw new ArgumentException("Give at least one source architecture.", nameof(Architectures));
        foreach (var a in Architectures)
            if (!VictimArchitectures.Names.Contains(a)) throw new ArgumentOutOfRangeException(nameof(Architectures), a, $"'{a}' is not one of {string.Join(", ", VictimArchitectures.Names)}.");
        if (Architectures.Distinct().Count() != Architectures.Count) throw new ArgumentException("An architecture is listed twice.", nameof(Architectures));
        Require.AtLeast(SourceEpochs, 1, nameof(SourceEpochs));
        if (CheckpointCounts.Count == 0) throw new ArgumentException("Give at least one checkpoint count.", nameof(CheckpointCounts));
        foreach (int k in CheckpointCounts)
            if (k < 1 || k > SourceEpochs) throw new ArgumentOutOfRangeException(nameof(CheckpointCounts), k, $"Checkpoint count {k} is not in [1, {SourceEpochs}] (the source epochs: one checkpoint per epoch).");
        if (CheckpointCounts.Distinct().Count() != CheckpointCounts.Count) throw new ArgumentException("A checkpoint count is listed twice.", nameof(CheckpointCounts));
        if (Architectures.Count < 2 && CheckpointCounts.Count < 2)
            throw new ArgumentException("The protectors must differ in something to parse: give two architectures or two checkpoint counts.", nameof(Architectures));
        Require.AtLeast(Width, 1, nameof(Width));
        Require.AtLeast(Images, 2, nameof(Images));
        Require.BatchSize(BatchSize, nameof(BatchSize));
        Require.InRange(TestFraction, 0.05, 0.9, nameof(TestFraction));
        ArgumentNullException.ThrowIfNull(Sep);
        if (Sep.Variant != SepVariant.Sep) throw new ArgumentException("The study uses plain SEP (its variants share the sources and add feature alignment).", nameof(Sep));
        Sep.Validate();
        Parser.Validate();
        Denoiser?.Validate();
        return this;
    }
}

/// <summary>One protector's run: what crafting cost and how large its perturbations are.</summary>
/// <param name="Protector">Which protector.</param>
/// <param name="File">Its protected images, relative to the study folder.</param>
/// <param name="Seconds">Crafting wall time.</param>
/// <param name="MeanAbsolute">Mean |x' - x| over pixels, in 1/255 units, after 8-bit quantisation.</param>
/// <param name="MaxAbsolute">Largest |x' - x|, in 1/255 units (at most the budget).</param>
public sealed record ProtectorRun(ProtectorIdentity Protector, string File, double Seconds, double MeanAbsolute, double MaxAbsolute);

/// <summary>A parser's verdict on the test images, for one input kind.</summary>
/// <param name="Input">What the parser saw: the perturbation x' - x (the clean image known) or the protected image x' alone.</param>
/// <param name="Scores">Per-attribute accuracy and chance.</param>
/// <param name="Confusion">Rows: the true protector (in <see cref="ProtectionParsingReport.Protectors"/> order), columns: the protector named (both attributes together); counts.</param>
/// <param name="EstimateError">With <see cref="ParsingInput.Denoised"/>: mean |x' - D(x') - (x' - x)| over the test images' pixels, in 1/255 units (how far the denoiser's estimate is from the true perturbation).</param>
public sealed record ProtectionParsingResult(ParsingInput Input, ParsingScores Scores, IReadOnlyList<IReadOnlyList<int>> Confusion, double? EstimateError = null)
{
    /// <summary>Share of test images whose protector is named exactly (every attribute right).</summary>
    public double ExactAccuracy => Confusion.Sum(r => (double)r.Sum()) is var total and > 0 ? Confusion.Select((r, i) => (double)r[i]).Sum() / total : 0;
}

/// <summary>
/// Does protection leak the protector? The study's report: which protectors ran and how well parsers trained on their
/// perturbations name the source architecture and the checkpoint count of images they never saw.
/// </summary>
/// <param name="Protectors">The protectors, in order.</param>
/// <param name="Schema">What is parsed (the attributes that vary among the protectors).</param>
/// <param name="Runs">Crafting per protector.</param>
/// <param name="SourceAccuracy">Each source model's clean accuracy on the protected images (its final checkpoint), by architecture.</param>
/// <param name="TrainImages">Images the parsers trained on (per protector).</param>
/// <param name="TestImages">Images the parsers were tested on (per protector).</param>
/// <param name="Results">One per input kind.</param>
/// <param name="Options">The study's settings.</param>
public sealed record ProtectionParsingReport(IReadOnlyList<ProtectorIdentity> Protectors, AttributeSchema Schema, IReadOnlyList<ProtectorRun> Runs,
    IReadOnlyDictionary<string, double> SourceAccuracy, int TrainImages, int TestImages, IReadOnlyList<ProtectionParsingResult> Results, ProtectionParsingOptions Options)
{
    /// <summary>The report as Markdown.</summary>
    public string ToMarkdown(bool charts = false)
    {
        var c = CultureInfo.InvariantCulture;
        var o = Options;
        var md = new StringBuilder();
        md.AppendLine(c, $"Protectors: SEP (eps {o.Sep.Epsilon * 255:0.##}/255, {o.Sep.Iterations} iterations, step {o.Sep.StepSize * 255:0.##}/255) from source models {string.Join(", ", o.Architectures)} "
            + $"(width {o.Width}, ReLU, 3x3, {o.SourceEpochs} epochs, a checkpoint per epoch) averaging K = {string.Join(", ", o.CheckpointCounts)} checkpoints: {Protectors.Count} protectors, "
            + $"each protecting the same {TrainImages + TestImages} images. Parsers ({o.Parser.Backbone}, {o.Parser.Epochs} epochs, batch {o.Parser.BatchSize}, lr {o.Parser.LearningRate}) train on {TrainImages} images per protector and are tested on the other {TestImages}.");
        md.AppendLine();
        md.AppendLine("| protector | crafting (s) | mean abs perturbation (/255) | max (/255) | source's accuracy on the images |");
        md.AppendLine("|---|---:|---:|---:|---:|");
        foreach (var r in Runs)
            md.AppendLine(c, $"| {r.Protector.Id} | {r.Seconds:F0} | {r.MeanAbsolute:F2} | {r.MaxAbsolute:F0} | {SourceAccuracy[r.Protector.Architecture]:P1} |");
        md.AppendLine();
        md.AppendLine("Accuracy per attribute on the test images (chance in brackets: the most frequent value's share), and the share of images whose protector is named exactly:");
        md.AppendLine();
        md.AppendLine($"| parser input | examples | {string.Join(" | ", Schema.Names)} | exact protector (chance) |");
        md.AppendLine($"|---|---:|{string.Concat(Schema.Names.Select(_ => "---:|"))}---:|");
        foreach (var r in Results)
            md.AppendLine(c, $"| {InputName(r.Input)}{(r.EstimateError is double e ? $" (estimate off by {e:F2}/255 per pixel)" : "")} | {r.Scores.Examples:N0} | {string.Join(" | ", r.Scores.Attributes.Select((_, i) => r.Scores.Cell(i)))} | {r.ExactAccuracy:P1} ({1.0 / Protectors.Count:P1}) |");
        md.AppendLine();
        if (Results.Any(r => r.Scores.AnyOneAnswer)) md.AppendLine(ParsingScores.OneAnswerNote).AppendLine();
        if (charts)
            foreach (var r in Results) md.AppendLine(c, $"![which protector the parser names from the {InputName(r.Input)}]({ChartFile(r.Input)})").AppendLine();
        return md.ToString();
    }

    /// <summary>How the report names an input kind.</summary>
    public static string InputName(ParsingInput input) => input switch
    {
        ParsingInput.Perturbation => "perturbation x' - x",
        ParsingInput.Adversarial => "protected image x'",
        _ => "denoiser's estimate x' - D(x')",
    };

    /// <summary>The chart file of an input kind's confusion matrix: <c>confusion-perturbation.png</c>, <c>confusion-protected.png</c>, <c>confusion-denoised.png</c>.</summary>
    public static string ChartFile(ParsingInput input) => input switch
    {
        ParsingInput.Perturbation => "confusion-perturbation.png",
        ParsingInput.Adversarial => "confusion-protected.png",
        _ => "confusion-denoised.png",
    };

    /// <summary>Draws one input kind's confusion matrix (rows: true protector; columns: protector named; % of the row) as a PNG.</summary>
    public void ConfusionChart(string path, ProtectionParsingResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        int n = Protectors.Count;
        var values = new double[n, n];
        for (int r = 0; r < n; r++)
        {
            double total = Math.Max(1, result.Confusion[r].Sum());
            for (int col = 0; col < n; col++) values[r, col] = 100 * result.Confusion[r][col] / total;
        }
        string[] names = [.. Protectors.Select(p => p.Id)];
        PercentHeatMap.Write(path, $"{InputName(result.Input)}: exact {100 * result.ExactAccuracy:F0}% (chance {100.0 / n:F0}%)", values, names, names,
            "protector named", "true protector", cellWidth: 90, cellHeight: 50, fontSize: 12);
    }
}

/// <summary>
/// Beyond RED-adv: does data protection leak the protector? Trains one source model per architecture (SEP's recipe, a
/// checkpoint per epoch), protects the same images with SEP from every architecture x checkpoint count K, and trains
/// model parsing networks on the protected images of part of them to name the source architecture and K of the rest:
/// from the perturbation (the clean image known), from the protected image alone, and from a DnCNN's estimate of the
/// perturbation (RED-adv's realistic case).
/// The folder is resumable: <c>sources/&lt;architecture&gt;/</c> (checkpoints), <c>protected/&lt;protector&gt;.safetensors</c>
/// (uint8 protected images, each written atomically), <c>protectors.json</c> (the finished runs) and <c>settings.txt</c>
/// (a folder of other settings is refused).
/// </summary>
public sealed class ProtectionParsing(ProtectionParsingOptions? options = null)
{
    private const string RunsFile = "protectors.json", SettingsFile = "settings.txt";

    /// <summary>The settings.</summary>
    public ProtectionParsingOptions Options { get; } = (options ?? new ProtectionParsingOptions()).Validate();

    /// <summary>
    /// Runs the study in <paramref name="folder"/>: sources trained on <paramref name="train"/>, protection applied to a
    /// seeded choice of <paramref name="images"/> (same classes), parsers on perturbations and on protected images.
    /// </summary>
    public ProtectionParsingReport Run(ImageSet train, ImageSet images, string folder, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(images);
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        if (!images.ClassNames.SequenceEqual(train.ClassNames)) throw new ArgumentException("The images to protect have other classes than the training images.", nameof(images));
        if (images.Count < 2) throw new ArgumentException("Protect at least two images.", nameof(images));
        var o = Options;
        Directory.CreateDirectory(Path.Combine(folder, "protected"));
        var order = Enumerable.Range(0, images.Count).ToArray();
        new Random(o.Seed).Shuffle(order);
        var chosen = images.Subset([.. order.Take(Math.Min(o.Images, images.Count)).Order()]);

        // Sources and protected images of other settings must not mix with these (architectures and K may be added later).
        string settings = string.Create(CultureInfo.InvariantCulture,
            $"width {o.Width}, {o.SourceEpochs} source epochs on {train.Count} images, {chosen.Count} of {images.Count} images protected, eps {o.Sep.Epsilon:R}, {o.Sep.Iterations} iterations, step {o.Sep.StepSize:R}, seed {o.Seed}");
        string settingsPath = Path.Combine(folder, SettingsFile);
        if (File.Exists(settingsPath) && File.ReadAllText(settingsPath) != settings)
            throw new InvalidOperationException($"'{folder}' holds a study of other settings ({File.ReadAllText(settingsPath)}); these are ({settings}). Use a new folder.");
        AtomicFile.WriteAllText(settingsPath, settings);
        var runs = ReadRuns(folder);
        var accuracy = new Dictionary<string, double>();
        foreach (var architecture in o.Architectures)
        {
            using var checkpoints = Source(folder, architecture, train, progress, cancellationToken);
            using (var final = checkpoints.Load(checkpoints.Epochs[^1]))
                accuracy[architecture] = new Evaluator().Evaluate(final, chosen, cancellationToken).Accuracy;
            foreach (int k in o.CheckpointCounts)
            {
                var protector = new ProtectorIdentity(architecture, k);
                if (runs.Any(r => r.Protector == protector && File.Exists(Path.Combine(folder, r.File)))) continue;
                cancellationToken.ThrowIfCancellationRequested();
                progress?.Report($"protecting {chosen.Count} images with {protector.Id}");
                runs.RemoveAll(r => r.Protector == protector);
                runs.Add(Protect(folder, protector, checkpoints, chosen, cancellationToken));
                AtomicFile.WriteAllText(Path.Combine(folder, RunsFile), JsonSerializer.Serialize(runs, ZooIndex.Json));
            }
        }
        var protectors = o.Protectors;
        runs = [.. protectors.Select(p => runs.Single(r => r.Protector == p))];

        // Split by image: the parser is tested on images it never saw under any protector.
        var split = Enumerable.Range(0, chosen.Count).ToArray();
        new Random(o.Seed + 1).Shuffle(split);
        int testCount = Math.Max(1, (int)Math.Round(o.TestFraction * chosen.Count));
        var test = split.Take(testCount).Order().ToArray();
        var trainRows = split.Skip(testCount).Order().ToArray();
        var schema = SchemaOf(protectors);
        var results = new List<ProtectionParsingResult>();
        using var trainPerturbations = Data(folder, runs, chosen, trainRows, schema, ParsingInput.Perturbation);
        using var testPerturbations = Data(folder, runs, chosen, test, schema, ParsingInput.Perturbation);
        using var trainProtected = Data(folder, runs, chosen, trainRows, schema, ParsingInput.Adversarial);
        using var testProtected = Data(folder, runs, chosen, test, schema, ParsingInput.Adversarial);
        results.Add(Parse(ParsingInput.Perturbation, trainPerturbations, testPerturbations, protectors, schema, progress, cancellationToken));
        results.Add(Parse(ParsingInput.Adversarial, trainProtected, testProtected, protectors, schema, progress, cancellationToken));
        if (o.Denoiser is { } denoiserOptions)
        {
            // The realistic case: no clean image. The denoiser learns the perturbation from the training images only.
            progress?.Report($"training the denoiser ({trainProtected.Count:N0} examples)");
            using var denoiser = (denoiserOptions with { Seed = o.Seed }).Train(trainProtected.Inputs, trainPerturbations.Inputs, cancellationToken: cancellationToken);
            using var trainEstimates = new ParsingData(denoiser.Residual(trainProtected.Inputs), trainProtected.Labels.clone(), schema);
            using var testEstimates = new ParsingData(denoiser.Residual(testProtected.Inputs), testProtected.Labels.clone(), schema);
            using var error = testEstimates.Inputs.sub(testPerturbations.Inputs).abs().mean();
            results.Add(Parse(ParsingInput.Denoised, trainEstimates, testEstimates, protectors, schema, progress, cancellationToken) with { EstimateError = 255 * error.item<float>() });
        }
        return new ProtectionParsingReport(protectors, schema, runs, accuracy, trainRows.Length, test.Length, results, o);
    }

    /// <summary>Writes <c>protection.md</c>, <c>protection.json</c> and a confusion chart per parser input (<see cref="ProtectionParsingReport.ChartFile"/>) to <paramref name="folder"/>.</summary>
    public static void Write(ProtectionParsingReport report, string folder)
    {
        ArgumentNullException.ThrowIfNull(report);
        Directory.CreateDirectory(folder);
        AtomicFile.Write(Path.Combine(folder, "protection.json"), s => JsonSerializer.Serialize(s, report, ZooIndex.Json));
        foreach (var result in report.Results) report.ConfusionChart(Path.Combine(folder, ProtectionParsingReport.ChartFile(result.Input)), result);
        AtomicFile.WriteAllText(Path.Combine(folder, "protection.md"), "# Does protection leak the protector?\n\n" + report.ToMarkdown(charts: true));
    }

    private ProtectionParsingResult Parse(ParsingInput input, ParsingData train, ParsingData test, IReadOnlyList<ProtectorIdentity> protectors, AttributeSchema schema,
        IProgress<string>? progress, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        progress?.Report($"training a parser on the {ProtectionParsingReport.InputName(input)} ({Options.Parser.DescribeTraining(train.Count)})");
        using var network = new ModelParser(Options.Parser).Train(train, cancellationToken: cancellationToken);
        return new ProtectionParsingResult(input, ModelParser.Evaluate(network, test), Confusion(network, test, protectors, schema));
    }

    // The attributes that vary among the protectors, in the options' order.
    private static AttributeSchema SchemaOf(IReadOnlyList<ProtectorIdentity> protectors)
    {
        var names = new List<string>();
        var values = new List<IReadOnlyList<string>>();
        var architectures = protectors.Select(p => p.Architecture).Distinct().ToList();
        var counts = protectors.Select(p => p.Checkpoints.ToString(CultureInfo.InvariantCulture)).Distinct().ToList();
        if (architectures.Count > 1) { names.Add("source architecture"); values.Add(architectures); }
        if (counts.Count > 1) { names.Add("checkpoints"); values.Add(counts); }
        return new AttributeSchema(names, values);
    }

    private static long[] LabelsOf(ProtectorIdentity p, AttributeSchema schema) =>
        [.. schema.Names.Select((name, i) => (long)schema.Values[i].ToList().IndexOf(name == "checkpoints" ? p.Checkpoints.ToString(CultureInfo.InvariantCulture) : p.Architecture))];

    // The source model's checkpoints, trained once (a run killed during training starts that source again).
    private CheckpointSet Source(string folder, string architecture, ImageSet train, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        var o = Options;
        string path = Path.Combine(folder, "sources", architecture);
        if (File.Exists(Path.Combine(path, "checkpoints.json")))
        {
            var existing = CheckpointSet.Open(path);
            if (existing.Count == o.SourceEpochs) return existing;
            existing.Dispose();
        }
        if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
        progress?.Report($"training the {architecture} source model ({o.SourceEpochs} epochs on {train.Count} images)");
        var spec = VictimArchitectures.Spec(architecture, o.Width, 3, ActivationKind.Relu).ToModelSpec(train.ClassNames.Count, train.Channels, train.Height);
        var recipe = SourceModelRecipe.ForSep(spec, o.SourceEpochs) with { Seed = o.Seed };
        using var model = recipe.CreateModel(train);
        var checkpoints = CheckpointSet.Create(path);
        try
        {
            recipe.Train(model, train, null, checkpoints, cancellationToken: cancellationToken);
            return checkpoints;
        }
        catch
        {
            checkpoints.Dispose();
            throw;
        }
    }

    private ProtectorRun Protect(string folder, ProtectorIdentity protector, CheckpointSet checkpoints, ImageSet images, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var sep = SelfEnsembleProtection.FromCheckpoints(checkpoints, protector.Checkpoints, Options.Sep with { Seed = Options.Seed });
        var protectedImages = DataProtection.Protect(sep, images, Options.BatchSize, cancellationToken: cancellationToken);
        double seconds = clock.Elapsed.TotalSeconds;
        string file = Path.Combine("protected", protector.Id + ".safetensors");
        using var scope = torch.NewDisposeScope();
        var pixels = torch.tensor(protectedImages.Pixels.ToArray(), [images.Count, images.Channels, images.Height, images.Width], ScalarType.Byte);
        var clean = torch.tensor(images.Pixels.ToArray(), [images.Count, images.Channels, images.Height, images.Width], ScalarType.Byte);
        var difference = pixels.to(ScalarType.Int16).sub(clean.to(ScalarType.Int16)).abs().to(ScalarType.Float32);
        // Written to a temporary name and moved, so a killed run never leaves a half-written file under the final name.
        string final = Path.Combine(folder, file), temporary = final + ".partial";
        SafeTensors.Save(temporary, new Dictionary<string, Tensor> { ["protected"] = pixels },
            new Dictionary<string, string> { ["architecture"] = protector.Architecture, ["checkpoints"] = protector.Checkpoints.ToString(CultureInfo.InvariantCulture) });
        File.Move(temporary, final, overwrite: true);
        return new ProtectorRun(protector, file, seconds, difference.mean().item<float>(), difference.max().item<float>());
    }

    // Inputs of the images at rows for every protector, with the protector's labels.
    private static ParsingData Data(string folder, IReadOnlyList<ProtectorRun> runs, ImageSet images, int[] rows, AttributeSchema schema, ParsingInput input)
    {
        using var scope = torch.NewDisposeScope();
        using var scale = (1.0 / 255).ToScalar();
        var index = torch.tensor(rows.Select(r => (long)r).ToArray());
        var clean = torch.tensor(images.Pixels.ToArray(), [images.Count, images.Channels, images.Height, images.Width], ScalarType.Byte)
            .index_select(0, index).to(ScalarType.Float32).mul(scale);
        var inputs = new List<Tensor>();
        var labels = new List<Tensor>();
        foreach (var run in runs)
        {
            var (tensors, _) = SafeTensors.Load(Path.Combine(folder, run.File));
            var x = tensors["protected"].index_select(0, index).to(ScalarType.Float32).mul(scale);
            foreach (var t in tensors.Values) t.Dispose();
            inputs.Add(input == ParsingInput.Perturbation ? x.sub(clean) : x);
            labels.Add(torch.tensor(LabelsOf(run.Protector, schema)).unsqueeze(0).expand(rows.Length, -1).contiguous());
        }
        return new ParsingData(torch.cat(inputs).DetachFromDisposeScope(), torch.cat(labels).DetachFromDisposeScope(), schema);
    }

    // Counts of (true protector, protector named), the protector named being the one whose every attribute the heads chose.
    private static int[][] Confusion(ModelParsingNetwork network, ParsingData data, IReadOnlyList<ProtectorIdentity> protectors, AttributeSchema schema)
    {
        var keys = protectors.Select(p => string.Join(",", LabelsOf(p, schema))).ToList();
        var confusion = protectors.Select(_ => new int[protectors.Count]).ToArray();
        var named = ModelParser.Predict(network, data.Inputs);
        using var labels = data.Labels.contiguous();
        long[] truth = labels.data<long>().ToArray();
        int width = schema.Names.Count;
        for (int i = 0; i < named.Length; i++)
            confusion[keys.IndexOf(string.Join(",", truth[(i * width)..((i + 1) * width)]))][keys.IndexOf(string.Join(",", named[i]))]++;
        return confusion;
    }

    private static List<ProtectorRun> ReadRuns(string folder)
    {
        string path = Path.Combine(folder, RunsFile);
        return File.Exists(path) ? JsonSerializer.Deserialize<List<ProtectorRun>>(File.ReadAllText(path), ZooIndex.Json)! : [];
    }
}
