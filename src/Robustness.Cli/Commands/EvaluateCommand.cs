using Microsoft.Extensions.Logging;
using Robustness.Models;
using Robustness.Hosting;
using Robustness.IO;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Robustness.Attacks;
using Robustness.Attacks.Evaluation;
using Robustness.Cli.Output;
using Robustness.Training;

namespace Robustness.Cli.Commands;

/// <summary><c>robustness evaluate</c>: clean accuracy of a saved model, overall and per class.</summary>
public static class EvaluateCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(TextWriter output, TextWriter error, ITechniqueCatalog catalog, ModelFamilyRegistry models,
        ILoggerFactory loggers)
    {
        var model = new Option<string>("--model") { Description = "A model saved by 'robustness train' (safetensors with metadata).", Required = true };
        var data = new Option<string>("--data") { Description = "Test images in class folders (DIR/<class>/<image>).", Required = true };
        var report = ReportFolder.Option("accuracy per class; with --autoattack, accuracy after each attack");
        var batch = new Option<int>("--batch-size") { Description = "Images per forward pass.", DefaultValueFactory = _ => 256 };
        var device = CommonOptions.Device();
        var autoAttack = new Option<bool>("--autoattack") { Description = "Also run the AutoAttack-style evaluation (APGD-CE, APGD-T, FAB-T, Square 5000 queries) at --eps." };
        var knobs = new AttackOptionsCli();
        var state = new Option<string?>("--state") { Description = "AutoAttack state file: a long run killed or cancelled resumes from it." };
        var seed = CommonOptions.Seed();

        var command = new Command("evaluate", "Measure a model's accuracy, overall and per class, and optionally its robust accuracy (--autoattack).")
        {
            model, data, report, batch, device, autoAttack, state, seed,
        };
        knobs.AddTo(command, withAttackKnobs: false);
        command.SetAction((parse, cancel) =>
        {
            string modelPath = parse.GetValue(model)!;
            if (!File.Exists(modelPath)) throw new UsageException($"--model file '{modelPath}' does not exist.");
            int batchSize = CommonOptions.InRange(parse, batch, 1);
            var reportFolder = ReportFolder.From(parse, report, error);
            var deviceValue = CommonOptions.ResolveDevice(parse, device);

            using var classifier = Classifier.Load(modelPath, deviceValue, models);
            // Folder classes are matched to the model's by name, whatever their order.
            var images = DataSources.ReadFolder(parse.GetValue(data)!, error, size: classifier.Spec.ImageSize)
                .AlignClasses(classifier.ClassNames);

            var accuracy = new Evaluator(batchSize).Evaluate(classifier, images, cancel);
            AccuracyTable.Write(output, accuracy);

            AutoAttackReport? robust = null;
            if (parse.GetValue(autoAttack))
            {
                var settings = knobs.Read(parse, CommonOptions.InRange(parse, seed, 0));
                var options = new AutoAttackOptions { Norm = settings.Norm, Epsilon = settings.EpsilonOrDefault, Seed = settings.Seed, BatchSize = batchSize, StatePath = parse.GetValue(state) };
                var evaluator = catalog.StandardAutoAttack(settings.Norm, settings.EpsilonOrDefault, settings.Seed, options,
                    loggers.CreateLogger<AutoAttackEvaluator>());
                output.WriteLine($"AutoAttack-style evaluation: {string.Join(", ", evaluator.Attacks.Select(a => a.ToString()))}.");
                robust = new AttackProgressDisplay(output).Run($"AutoAttack on {images.Count} images", progress => evaluator.Evaluate(classifier, images, progress, cancel));
                output.WriteLine(robust.ToMarkdown());
            }

            if (reportFolder is not null)
                output.WriteLine(EvaluationReport.Write(reportFolder, new EvaluationDocument(Path.GetFullPath(modelPath), classifier.Spec.Architecture, images.Count, accuracy, robust)));
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    /// <summary>The JSON report of <c>evaluate</c>.</summary>
    public sealed record EvaluationDocument(string Model, string Architecture, int Images, AccuracyReport Accuracy, AutoAttackReport? AutoAttack);
}
