using Robustness.IO;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Robustness.Cli.Output;
using Robustness.Data;
using Robustness.Models;
using Robustness.Protection;
using Robustness.Training;

namespace Robustness.Cli.Commands;

/// <summary>
/// <c>robustness demo</c>: the main job on the embedded synthetic data, runnable in minutes on two cores: write the
/// synthetic training set as class folders, train SEP's source model keeping its checkpoints, protect the folder with
/// SEP (and the random-noise baseline) through the batch tool's engine, train fresh victims on what was written and
/// compare their clean test accuracy, and write the report (<see cref="ProtectionDemo"/>).
/// </summary>
public static class DemoCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(TextWriter output, TextWriter error)
    {
        var outDir = new Option<string>("--out") { Description = "Folder for the demo's model, checkpoints and report.", DefaultValueFactory = _ => "robustness-demo" };
        var trainCount = new Option<int>("--train-images") { Description = "Synthetic training images (the folder SEP protects).", DefaultValueFactory = _ => DefaultTrainImages };
        var testCount = new Option<int>("--test-images") { Description = "Synthetic test images.", DefaultValueFactory = _ => 1000 };
        var epochs = new Option<int>("--epochs") { Description = "Source-model and victim epochs (one source checkpoint each).", DefaultValueFactory = _ => 8 };
        var eps = new Option<string>("--eps") { Description = "l-inf budget of the protection: 8/255, 0.0314 or 8px.", DefaultValueFactory = _ => "8/255" };
        var checkpointCount = new Option<int>("--checkpoint-count") { Description = "Checkpoints K SEP takes by its selection rule.", DefaultValueFactory = _ => DefaultCheckpointCount };
        var imageSize = new Option<int>("--image-size") { Description = "Side of the synthetic images in pixels.", DefaultValueFactory = _ => DefaultImageSize };
        var contrast = new Option<double>("--contrast") { Description = "Contrast of the synthetic shapes against their background, in (0, 1]: 1 = bold shapes, lower = shapes closer to the per-pixel noise.", DefaultValueFactory = _ => DefaultContrast };
        var withPruning = new Option<bool>("--with-pruning") { Description = "Also run the pruning part: PGD-AT a SmallCnn, prune it 4x with PwoA and naively, compare (several more minutes)." };
        var method = new Option<string>("--method") { Description = "sep, sep-fa or sep-fa-vr.", DefaultValueFactory = _ => "sep" };
        method.AcceptOnlyFromAmong("sep", "sep-fa", "sep-fa-vr");
        var iterations = new Option<int>("--iterations") { Description = "SEP iterations T (step 1/255).", DefaultValueFactory = _ => DefaultIterations };
        var width = new Option<int>("--width") { Description = "SmallCnn width.", DefaultValueFactory = _ => 16 };
        var seed = CommonOptions.Seed();
        var device = CommonOptions.Device();

        var command = new Command("demo", "Run the main job on the embedded synthetic data set.") { outDir, trainCount, testCount, imageSize, contrast, epochs, width, eps, checkpointCount, method, iterations, withPruning, seed, device };
        command.SetAction((parse, cancel) =>
        {
            int seedValue = CommonOptions.InRange(parse, seed, 0);
            int epochCount = CommonOptions.InRange(parse, epochs, 1, 1000);
            int trainImages = CommonOptions.InRange(parse, trainCount, 100, 1_000_000);
            int testImages = CommonOptions.InRange(parse, testCount, 10, 1_000_000);
            int widthValue = CommonOptions.InRange(parse, width, 1, 512);
            int side = CommonOptions.InRange(parse, imageSize, 8, 256);
            double contrastValue = parse.GetValue(contrast);
            if (!(contrastValue > 0 && contrastValue <= 1)) throw new UsageException($"--contrast must be in (0, 1]; got {contrastValue.ToString(System.Globalization.CultureInfo.InvariantCulture)}.");
            var deviceValue = CommonOptions.ResolveDevice(parse, device);
            double epsilon = ProtectCommand.ParseBudget(parse.GetValue(eps)!, "--eps");
            int k = CommonOptions.InRange(parse, checkpointCount, 1, 1000);
            int t = CommonOptions.InRange(parse, iterations, 1, 1000);
            var variant = parse.GetValue(method)!.Trim().ToLowerInvariant() switch
            {
                "sep" => SepVariant.Sep,
                "sep-fa" => SepVariant.FeatureAlignment,
                "sep-fa-vr" => SepVariant.FeatureAlignmentVarianceReduction,
                var other => throw new UsageException($"--method must be sep, sep-fa or sep-fa-vr; got '{other}'."),
            };
            if (k > epochCount)
            {
                output.WriteLine($"--checkpoint-count {k} is more than the {epochCount} checkpoints --epochs keeps; SEP takes all {epochCount}.");
                k = epochCount;
            }
            string folder = Path.GetFullPath(parse.GetValue(outDir)!);
            Directory.CreateDirectory(folder);

            output.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"Robustness demo: synthetic data ({trainImages} train / {testImages} test, 10 classes, {side}x{side}, contrast {contrastValue}), device {deviceValue.type}, seed {seedValue}."));
            var sets = SyntheticImageSet.TrainTest(trainImages, testImages, seedValue, side, contrast: contrastValue);

            // Step 1: the clean training set as class folders, as a user brings it (the demo owns these subfolders and
            // replaces them on a rerun).
            foreach (var owned in OwnedFolders) DeleteIfPresent(Path.Combine(folder, owned), output);
            string cleanFolder = Path.Combine(folder, "data", "train");
            PngImageWriter.Write(sets.Train, cleanFolder, cancel);
            output.WriteLine($"Step 1/4: wrote the {trainImages} clean training images as class folders into {cleanFolder}.");

            // Step 2: the source model and its checkpoints (SEP's step 1, at demo scale).
            var spec = new ModelSpec("small-cnn", sets.Train.ClassNames.Count, widthValue);
            var recipe = SourceModelRecipe.ForSep(spec, epochCount) with { Seed = seedValue, Device = deviceValue };
            using var source = recipe.CreateModel(sets.Train);
            string checkpointFolder = Path.Combine(folder, "checkpoints");
            using var checkpoints = CheckpointSet.Create(checkpointFolder);
            var training = new TrainingProgressDisplay(output).Run(
                $"Step 2/4: train the source model ({source.ParameterCount:N0} parameters, {epochCount} epochs, a checkpoint each)",
                progress => recipe.Train(source, sets.Train, sets.Test, checkpoints, progress, cancel));
            string modelPath = Path.Combine(folder, "source-model.safetensors");
            source.Save(modelPath);

            var accuracy = training.Final.Test ?? new Evaluator().Evaluate(source, sets.Test, cancel);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Source model: test accuracy {accuracy.Accuracy:P1} after {training.WallTime:mm\\:ss}; {checkpoints.Count} checkpoints in {checkpoints.Folder}."));
            AccuracyTable.Write(output, accuracy);

            var protection = ProtectionDemo.Run(folder, cleanFolder, sets.Test, checkpoints, spec,
                new ProtectionDemoSettings(epsilon, k, t, epochCount, seedValue, deviceValue, variant), output, cancel);

            PruningDemoResult? pruning = null;
            if (parse.GetValue(withPruning))
            {
                output.WriteLine();
                output.WriteLine("Pruning part: PGD-AT a SmallCnn, prune it 4x with PwoA (no adversarial examples) and naively, compare.");
                pruning = new PruningDemo().Run(Path.Combine(folder, "pruning"), seedValue, deviceValue, output, cancel);
            }

            var report = new DemoReport(seedValue, trainImages, testImages, side, spec.Architecture, widthValue, epochCount,
                training.WallTime.TotalSeconds, accuracy, checkpoints.Epochs.ToArray(), modelPath, protection, pruning);
            string reportPath = Path.Combine(folder, "report.json");
            AtomicFile.WriteAllText(reportPath, JsonSerializer.Serialize(report, ReportJson.Options));
            output.WriteLine($"Report: {reportPath}");
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    /// <summary>SEP's checkpoint count in the demo: 4 of the 8 epochs' checkpoints (SEP's rule takes epochs 1, 3, 5, 7).</summary>
    public const int DefaultCheckpointCount = 4;

    /// <summary>SEP's iterations in the demo: the paper's T = 30, step 1/255.</summary>
    public const int DefaultIterations = 30;

    /// <summary>The subfolders of --out that the demo writes and replaces on a rerun; nothing else there is touched.</summary>
    public static readonly string[] OwnedFolders = ["data", "checkpoints", "protected-sep", "protected-random", "report", "pruning"];

    /// <summary>Training images in the demo: enough for a victim to learn the classes, few enough for minutes of crafting on 2 cores.</summary>
    public const int DefaultTrainImages = 2000;

    /// <summary>Side of the demo's synthetic images.</summary>
    public const int DefaultImageSize = 32;

    /// <summary>
    /// Contrast of the demo's synthetic shapes. Half contrast: on the full-contrast set a victim learns the bold shapes
    /// from the clean signal before any shortcut, and SEP at 8/255 costs it only a few points more than random noise;
    /// with the shapes nearer the noise, as class evidence is in natural images, the SEP shortcut wins (README).
    /// </summary>
    public const double DefaultContrast = 0.5;

    private static void DeleteIfPresent(string path, TextWriter output)
    {
        if (!Directory.Exists(path)) return;
        output.WriteLine($"Replacing {path} from a previous demo run.");
        Directory.Delete(path, recursive: true);
    }

    /// <summary>What the demo measured.</summary>
    public sealed record DemoReport(int Seed, int TrainImages, int TestImages, int ImageSize, string Architecture, int Width, int Epochs,
        double TrainingSeconds, AccuracyReport SourceTestAccuracy, int[] CheckpointEpochs, string SourceModel, ProtectionDemoResult Protection,
        PruningDemoResult? Pruning);
}
