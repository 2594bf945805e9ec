using Microsoft.Extensions.Logging;
using Robustness.Models;
using Robustness.Hosting;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Robustness.Attacks;
using Robustness.Attacks.Evaluation;
using Robustness.Data;
using Robustness.IO;
using Robustness.Cli.Output;
using TorchSharp;

namespace Robustness.Cli.Commands;

/// <summary>
/// <c>robustness attack</c>: runs one attack over a folder, reports clean and robust accuracy, and optionally saves
/// the adversarial images losslessly under the same relative paths.
/// </summary>
public static class AttackCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(TextWriter output, TextWriter error, ITechniqueCatalog catalog, ModelFamilyRegistry models, ILoggerFactory loggers)
    {
        var model = new Option<string>("--model") { Description = "A model saved by 'robustness train'.", Required = true };
        var data = new Option<string>("--data") { Description = "Images in class folders (DIR/<class>/<image>).", Required = true };
        var attack = new Option<string>("--attack") { Description = $"Attack: {string.Join(", ", catalog.Names(TechniqueFamily.Attacks))}.", DefaultValueFactory = _ => "pgd" };
        var knobs = new AttackOptionsCli();
        var save = new Option<string?>("--save-adversarial") { Description = "Write the adversarial images here as PNG, keeping relative paths (quantised to 8 bits)." };
        var report = new Option<string?>("--report") { Description = "Write the results as JSON to this file." };
        var batch = new Option<int>("--batch-size") { Description = "Images per attack batch.", DefaultValueFactory = _ => 128 };
        var seed = CommonOptions.Seed();
        var device = CommonOptions.Device();

        var command = new Command("attack", "Attack a model on a folder of images and report robust accuracy.") { model, data, attack, save, report, batch, seed, device };
        knobs.AddTo(command);
        command.SetAction((parse, cancel) =>
        {
            string modelPath = parse.GetValue(model)!;
            if (!File.Exists(modelPath)) throw new UsageException($"--model file '{modelPath}' does not exist.");
            var definition = CommonOptions.Usage(() => catalog.Create(TechniqueFamily.Attacks, parse.GetValue(attack)!), "--attack");
            var settings = knobs.Read(parse, CommonOptions.InRange(parse, seed, 0));
            var instance = CommonOptions.Usage(() => definition.Build(settings), "--attack");
            knobs.WarnIgnored(definition, settings, error);
            int batchSize = CommonOptions.InRange(parse, batch, 1);
            var deviceValue = CommonOptions.ResolveDevice(parse, device);

            using var classifier = Classifier.Load(modelPath, deviceValue, models);
            var images = DataSources.ReadFolder(parse.GetValue(data)!, error, size: classifier.Spec.ImageSize).AlignClasses(classifier.ClassNames);
            string? saveDir = parse.GetValue(save);
            output.WriteLine($"Attacking {images.Count} images with {instance}, device {deviceValue.type}.");

            // The library's protocol: each batch classified once, the correctly classified images attacked, each result
            // judged against the budget; the images the model already gets wrong are saved as they are.
            var started = System.Diagnostics.Stopwatch.StartNew();
            var progress = new SyncProgress<EvaluationProgress>(p => output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  batch {p.Batch}/{p.Batches}, {Math.Min(images.Count, p.Batch * batchSize) / Math.Max(p.Elapsed.TotalSeconds, 1e-9):F1} img/s")));
            var evaluation = new RobustnessEvaluation(batchSize, loggers.CreateLogger<RobustnessEvaluation>()).Evaluate(classifier, images, [instance], progress, cancel,
                saveDir is null ? null : batch => SaveBatch(images, batch.Indices, batch.Images, saveDir));
            var entry = evaluation.Entries[0];

            var result = new AttackRunReport(Path.GetFullPath(modelPath), instance.Name, instance.ToString() ?? instance.Name, instance.Norm.Name(), instance.Epsilon,
                images.Count, evaluation.CleanAccuracy, entry.RobustAccuracy, entry.SuccessRate, entry.MeanPerturbation, entry.MaxPerturbation,
                started.Elapsed.TotalSeconds, saveDir is null ? null : Path.GetFullPath(saveDir));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Clean accuracy {result.CleanAccuracy:P2}, robust accuracy {result.RobustAccuracy:P2} under {instance}; success rate {result.SuccessRate:P1} on correct points; mean perturbation {result.MeanPerturbation:G4}, max {result.MaxPerturbation:G4}."));
            if (saveDir is not null) output.WriteLine($"Adversarial images written to {saveDir} (PNG, 8 bits: rounding can move a point by half a level).");
            if (parse.GetValue(report) is string reportPath)
            {
                AtomicFile.WriteAllText(reportPath, JsonSerializer.Serialize(result, ReportJson.Options));
                output.WriteLine($"Report written to {reportPath}.");
            }
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    private static void SaveBatch(ImageSet images, int[] indices, TorchSharp.torch.Tensor adversarial, string root)
    {
        byte[] pixels = ImageTensors.ToBytes(adversarial);
        int bytes = images.ImageBytes;
        for (int i = 0; i < indices.Length; i++)
            PngImageWriter.WriteImage(pixels.AsSpan(i * bytes, bytes), images.Channels, images.Height, images.Width, root,
                PngImageWriter.OutputPathOf(images, indices[i]));
    }

    /// <summary>
    /// The JSON report of <c>attack</c>: clean and robust accuracy over every image; success rate and perturbation sizes
    /// over the images the model classified correctly (the ones attacked).
    /// </summary>
    public sealed record AttackRunReport(string Model, string Attack, string Description, string Norm, double? Epsilon, int Images,
        double CleanAccuracy, double RobustAccuracy, double SuccessRate, double MeanPerturbation, double MaxPerturbation, double Seconds, string? AdversarialFolder);
}
