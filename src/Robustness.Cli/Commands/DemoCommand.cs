using Robustness.IO;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Robustness.Cli.Output;
using Robustness.Data;
using Robustness.Models;
using Robustness.Training;

namespace Robustness.Cli.Commands;

/// <summary>
/// <c>robustness demo</c>: the main job on the embedded synthetic data, runnable in minutes on two cores. Today it
/// trains the source model of SEP with its checkpoints and evaluates it; the protection and pruning steps join it
/// as they land.
/// </summary>
public static class DemoCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(TextWriter output, TextWriter error)
    {
        var outDir = new Option<string>("--out") { Description = "Folder for the demo's model, checkpoints and report.", DefaultValueFactory = _ => "robustness-demo" };
        var trainCount = new Option<int>("--train-images") { Description = "Synthetic training images.", DefaultValueFactory = _ => 5000 };
        var testCount = new Option<int>("--test-images") { Description = "Synthetic test images.", DefaultValueFactory = _ => 1000 };
        var epochs = new Option<int>("--epochs") { Description = "Source-model epochs (one checkpoint each).", DefaultValueFactory = _ => 8 };
        var width = new Option<int>("--width") { Description = "SmallCnn width.", DefaultValueFactory = _ => 16 };
        var seed = CommonOptions.Seed();
        var device = CommonOptions.Device();

        var command = new Command("demo", "Run the main job on the embedded synthetic data set.") { outDir, trainCount, testCount, epochs, width, seed, device };
        command.SetAction((parse, cancel) =>
        {
            int seedValue = CommonOptions.InRange(parse, seed, 0);
            int epochCount = CommonOptions.InRange(parse, epochs, 1, 1000);
            int trainImages = CommonOptions.InRange(parse, trainCount, 100, 1_000_000);
            int testImages = CommonOptions.InRange(parse, testCount, 10, 1_000_000);
            int widthValue = CommonOptions.InRange(parse, width, 1, 512);
            var deviceValue = CommonOptions.ResolveDevice(parse, device);
            string folder = Path.GetFullPath(parse.GetValue(outDir)!);
            Directory.CreateDirectory(folder);

            output.WriteLine($"Robustness demo: synthetic data ({trainImages} train / {testImages} test, 10 classes, 32x32), device {deviceValue.type}, seed {seedValue}.");
            var sets = SyntheticImageSet.TrainTest(trainImages, testImages, seedValue);

            // Step 1: the source model and its checkpoints (SEP's step 1, at demo scale).
            var spec = new ModelSpec("small-cnn", sets.Train.ClassNames.Count, widthValue);
            using var source = Classifier.Create(spec, ChannelStatistics.Of(sets.Train), sets.Train.ClassNames, deviceValue, seedValue);
            var options = TrainingOptions.ForSep(epochCount) with
            {
                Augmentation = ComposedAugmentation.Cifar(),
                Seed = seedValue,
                Device = deviceValue,
            };
            // The demo owns its output folder: a rerun replaces the checkpoints of the previous run.
            string checkpointFolder = Path.Combine(folder, "checkpoints");
            if (File.Exists(Path.Combine(checkpointFolder, DiskCheckpointSet.IndexFileName)))
            {
                output.WriteLine($"Replacing the checkpoints of a previous demo run in {checkpointFolder}.");
                Directory.Delete(checkpointFolder, recursive: true);
            }
            using var checkpoints = CheckpointSet.Create(checkpointFolder);
            var training = new TrainingProgressDisplay(output).Run(
                $"Step 1/1: train the source model ({source.ParameterCount:N0} parameters, {epochCount} epochs, a checkpoint each)",
                progress => new Trainer(options).Train(source, sets.Train, sets.Test, checkpoints, progress, cancel));
            string modelPath = Path.Combine(folder, "source-model.safetensors");
            source.Save(modelPath);

            var accuracy = training.Final.Test ?? new Evaluator().Evaluate(source, sets.Test, cancel);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Source model: test accuracy {accuracy.Accuracy:P1} after {training.WallTime:mm\\:ss}; {checkpoints.Count} checkpoints in {checkpoints.Folder}."));
            AccuracyTable.Write(output, accuracy);

            var report = new DemoReport(seedValue, trainImages, testImages, spec.Architecture, widthValue, epochCount,
                training.WallTime.TotalSeconds, accuracy, checkpoints.Epochs.ToArray(), modelPath);
            string reportPath = Path.Combine(folder, "report.json");
            AtomicFile.WriteAllText(reportPath, JsonSerializer.Serialize(report, ReportJson.Options));
            output.WriteLine($"Report: {reportPath}");
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    /// <summary>What the demo measured.</summary>
    public sealed record DemoReport(int Seed, int TrainImages, int TestImages, string Architecture, int Width, int Epochs,
        double TrainingSeconds, AccuracyReport SourceTestAccuracy, int[] CheckpointEpochs, string SourceModel);
}
