// Sample: a model under several attacks and budgets in one pass (RobustnessEvaluation, the protocol of
// `robustness attack`): FGSM and PGD-10 at eps 2/255, 4/255 and 8/255 (l-inf), taken from the technique catalogue;
// the report as Markdown and JSON (RobustAccuracyReport.ToMarkdown / ToJson) and a ScottPlot line chart of robust
// accuracy against epsilon, one line per attack (epsilon 0 = clean accuracy), saved as PNG.
//
// Usage:
//   dotnet run -c Release --project samples/RobustnessReport -- MODEL.safetensors DATA_DIR [--images N] [--out DIR]
//     MODEL.safetensors: a model file written by Classifier.Save or `robustness train`; DATA_DIR: labelled class folders
//     (DATA_DIR/<class>/<image>) of the model's image size, e.g. CIFAR-10's test set. The first N images (default:
//     all) of a seeded shuffle are evaluated; report.md, report.json and robust-accuracy.png go to DIR (default
//     ./robustness-report). On CIFAR-10's 10,000 test images with a ResNet-18 (width 16): minutes per attack on a CPU.
//   dotnet run -c Release --project samples/RobustnessReport -- --smoke
//     Trains a tiny SmallCnn (width 4, 1 epoch) on 1,000 synthetic 16x16 images, saves it, writes 64 synthetic test images
//     as class folders and runs the same code on them: a few seconds.
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Robustness;
using Robustness.Attacks;
using Robustness.Attacks.Evaluation;
using Robustness.Data;
using Robustness.Hosting;
using Robustness.Models;
using Robustness.Training;

var ci = CultureInfo.InvariantCulture;
bool smoke = args.Contains("--smoke");
string modelPath, dataRoot, outFolder = "robustness-report";
int? imageCount = null;
string? smokeFolder = null;
if (smoke)
{
    smokeFolder = Directory.CreateTempSubdirectory("robustness-report-").FullName;
    (modelPath, dataRoot) = TrainTinyModel(smokeFolder);
    outFolder = Path.Combine(smokeFolder, "report");
}
else
{
    var positional = new List<string>();
    for (int i = 0; i < args.Length; i++)
    {
        if (args[i] == "--images" && i + 1 < args.Length && int.TryParse(args[i + 1], ci, out int n) && n >= 1) { imageCount = n; i++; }
        else if (args[i] == "--out" && i + 1 < args.Length) outFolder = args[++i];
        else if (args[i].StartsWith("--", StringComparison.Ordinal)) return Usage($"unknown option or missing value: {args[i]}");
        else positional.Add(args[i]);
    }
    if (positional.Count != 2) return Usage("give MODEL.safetensors and DATA_DIR, or --smoke");
    (modelPath, dataRoot) = (positional[0], positional[1]);
    if (!File.Exists(modelPath)) return Usage($"model file '{modelPath}' does not exist");
    if (!Directory.Exists(dataRoot)) return Usage($"data folder '{dataRoot}' does not exist");
}

try
{
    using var model = Classifier.Load(modelPath);
    var read = ImageFolderReader.Read(dataRoot, new ImageFolderOptions { Size = SizePolicy.Require(model.Spec.ImageSize, model.Spec.ImageSize) });
    foreach (var error in read.Errors) Console.Error.WriteLine($"skipped {error.RelativePath}: {error.Message}");
    var data = read.Images.AlignClasses(model.ClassNames); // class folders matched to the model's classes by name
    if (imageCount is int wanted && wanted < data.Count)
    {
        var order = Enumerable.Range(0, data.Count).ToArray();
        new Random(0).Shuffle(order);
        data = data.Subset(order.Take(wanted).Order().ToArray());
    }
    Console.WriteLine(string.Create(ci, $"{model.Spec.Architecture} ({model.ParameterCount:N0} parameters) on {data.Count} images of {dataRoot}"));

    // The attacks come from the catalogue (AddAttacks registers the built-in ones; a module could add its own).
    var services = new ServiceCollection();
    services.AddRobustness().AddAttacks();
    using var provider = services.BuildServiceProvider();
    var catalog = provider.GetRequiredService<ITechniqueCatalog>();
    string[] attackNames = ["fgsm", "pgd"];
    var definitions = attackNames.Select(name => catalog.Create(TechniqueFamily.Attacks, name)).ToArray();
    double[] epsilons = [Budget.Parse("2/255"), Budget.Parse("4/255"), Budget.Parse("8/255")];
    var settings = new AttackSettings { Norm = Norm.Linf, Steps = 10, Seed = 0 }; // Steps: PGD's (FGSM takes one)

    // One pass: each batch is read and classified once, every attack at every budget runs on the images the model gets right.
    var progress = new SyncProgress<EvaluationProgress>(p =>
    {
        if (p.Batch == p.Batches) Console.WriteLine(string.Create(ci, $"  {p.Stage} done, {p.Elapsed:mm\\:ss}"));
    });
    var report = new RobustnessEvaluation(batchSize: 128).Evaluate(model, data, definitions, settings, epsilons, progress);
    Console.WriteLine();
    Console.WriteLine(report.ToMarkdown());

    Directory.CreateDirectory(outFolder);
    File.WriteAllText(Path.Combine(outFolder, "report.md"), report.ToMarkdown());
    File.WriteAllText(Path.Combine(outFolder, "report.json"), report.ToJson());
    string chart = Path.Combine(outFolder, "robust-accuracy.png");
    WriteChart(report, chart);
    Console.WriteLine($"Wrote {Path.Combine(outFolder, "report.md")}, report.json and {chart}");

    return 0;
}
finally
{
    if (smokeFolder is not null) Directory.Delete(smokeFolder, recursive: true);
}

// Robust accuracy (%) against epsilon (in 1/255), one line per attack, starting at the clean accuracy.
static void WriteChart(RobustAccuracyReport report, string path)
{
    var plot = new ScottPlot.Plot();
    foreach (var attack in report.Entries.GroupBy(e => e.Attack))
    {
        var points = attack.OrderBy(e => e.Epsilon).ToArray();
        double[] xs = [0, .. points.Select(e => e.Epsilon!.Value * 255)];
        double[] ys = [100 * report.CleanAccuracy, .. points.Select(e => 100 * e.RobustAccuracy)];
        var line = plot.Add.Scatter(xs, ys);
        line.LegendText = attack.Key;
        line.LineWidth = 2;
        line.MarkerSize = 7;
    }
    plot.Title(string.Create(CultureInfo.InvariantCulture, $"Robust accuracy (l-inf) on {report.Images} images"));
    plot.XLabel("epsilon (x/255)");
    plot.YLabel("accuracy (%)");
    plot.Axes.SetLimitsY(0, 100);
    plot.Axes.Bottom.SetTicks([0, 2, 4, 8], ["0", "2", "4", "8"]);
    plot.ShowLegend(ScottPlot.Alignment.UpperRight);
    plot.SavePng(path, 640, 420);
}

// --smoke: a tiny model and a tiny labelled folder, so the rest runs exactly as on real files.
static (string Model, string Data) TrainTinyModel(string folder)
{
    var sets = SyntheticImageSet.TrainTest(trainCount: 1000, testCount: 64, seed: 0, size: 16, classes: 4);
    // Tiny tensors: one libtorch thread is fastest and keeps the run short on a busy machine (after the library's
    // first call, so its kernel guard has set oneDNN up).
    TorchSharp.torch.set_num_threads(1);
    var spec = new ModelSpec("small-cnn", sets.Train.ClassNames.Count, Width: 4, ImageSize: 16);
    using var model = Classifier.Create(spec, ChannelStatistics.Of(sets.Train), sets.Train.ClassNames, seed: 0);
    var options = new TrainingOptions { Epochs = 1, BatchSize = 16, LearningRate = 0.05, Momentum = 0.9, Seed = 0 };
    var result = new Trainer(options).Train(model, sets.Train, sets.Test);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Smoke: trained a SmallCnn w4 for 1 epoch, test accuracy {result.Final.Test!.Accuracy:P1}"));
    string modelPath = Path.Combine(folder, "tiny.safetensors");
    model.Save(modelPath);
    string data = Path.Combine(folder, "test");
    PngImageWriter.Write(sets.Test, data);
    return (modelPath, data);
}

static int Usage(string problem)
{
    Console.Error.WriteLine($"error: {problem}");
    Console.Error.WriteLine("usage: RobustnessReport MODEL.safetensors DATA_DIR [--images N] [--out DIR] | --smoke");
    return 2;
}

/// <summary>An <see cref="IProgress{T}"/> that reports on the calling thread.</summary>
sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
