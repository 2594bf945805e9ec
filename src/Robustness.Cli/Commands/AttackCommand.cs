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
        attack.AcceptOnlyFromAmong([.. catalog.Names(TechniqueFamily.Attacks)]);
        var knobs = new AttackOptionsCli();
        var save = new Option<string?>("--save-adversarial") { Description = "Write the adversarial images here as PNG, keeping relative paths (quantised to 8 bits)." };
        var report = ReportFolder.Option("robust accuracy against the budget; clean | adversarial | amplified difference");
        var budgets = new Option<string?>("--budgets")
        {
            Description = "Also attack at these budgets, comma-separated, written like --eps (e.g. 2/255,4/255,16/255): the report's robust accuracy against the budget.",
        };
        var batch = new Option<int>("--batch-size") { Description = "Images per attack batch.", DefaultValueFactory = _ => 128 };
        var seed = CommonOptions.Seed();
        var device = CommonOptions.Device();

        var command = new Command("attack", "Attack a model on a folder of images and report robust accuracy.") { model, data, attack, save, report, budgets, batch, seed, device };
        knobs.AddTo(command);
        command.SetAction((parse, cancel) =>
        {
            string modelPath = parse.GetValue(model)!;
            if (!File.Exists(modelPath)) throw new UsageException($"--model file '{modelPath}' does not exist.");
            var definition = CommonOptions.Usage(() => catalog.Create(TechniqueFamily.Attacks, parse.GetValue(attack)!), "--attack");
            var settings = knobs.Read(parse, CommonOptions.InRange(parse, seed, 0));
            var instance = CommonOptions.Usage(() => definition.Build(settings), "--attack");
            knobs.WarnIgnored(definition, settings, error);
            var sweep = ReadBudgets(parse.GetValue(budgets), instance.Epsilon)
                .Select(eps => CommonOptions.Usage(() => definition.Build(settings with { Epsilon = eps }), "--budgets")).ToArray();
            var reportFolder = ReportFolder.From(parse, report, error);
            int batchSize = CommonOptions.InRange(parse, batch, 1);
            var deviceValue = CommonOptions.ResolveDevice(parse, device);

            using var classifier = Classifier.Load(modelPath, deviceValue, models);
            var images = DataSources.ReadFolder(parse.GetValue(data)!, error, size: classifier.Spec.ImageSize).AlignClasses(classifier.ClassNames);
            string? saveDir = parse.GetValue(save);
            output.WriteLine($"Attacking {images.Count} images with {instance}{(sweep.Length > 0 ? $", and at {sweep.Length} more budget(s)" : "")}, device {deviceValue.type}.");

            // The library's protocol: each batch classified once, the correctly classified images attacked, each result
            // judged against the budget; the images the model already gets wrong are saved as they are. Only the main
            // attack (--eps) is saved and shown; the --budgets sweep adds points to the curve.
            var started = System.Diagnostics.Stopwatch.StartNew();
            var examples = new AttackExamples(images, AttackExamples.Rows);
            var evaluation = new AttackProgressDisplay(output).Run($"{instance.Name} on {images.Count} images", progress =>
                new RobustnessEvaluation(batchSize, loggers.CreateLogger<RobustnessEvaluation>()).Evaluate(classifier, images, [instance, .. sweep], progress, cancel,
                    adversarial =>
                    {
                        if (adversarial.AttackIndex != 0) return;
                        if (saveDir is not null) SaveBatch(images, adversarial.Indices, adversarial.Images, saveDir);
                        if (reportFolder is not null) examples.Add(adversarial.Indices, adversarial.Images);
                    }));
            var entry = evaluation.Entries[0];

            var result = new AttackRunReport(Path.GetFullPath(modelPath), instance.Name, instance.ToString() ?? instance.Name, instance.Norm.Name(), instance.Epsilon,
                images.Count, evaluation.CleanAccuracy, entry.RobustAccuracy, entry.SuccessRate, entry.MeanPerturbation, entry.MaxPerturbation,
                started.Elapsed.TotalSeconds, saveDir is null ? null : Path.GetFullPath(saveDir),
                evaluation.Entries.OrderBy(e => e.Epsilon ?? 0).Select(e => new BudgetResult(e.Epsilon, e.RobustAccuracy, e.SuccessRate, e.MeanPerturbation, e.MaxPerturbation, e.Seconds)).ToArray());
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Clean accuracy {result.CleanAccuracy:P2}, robust accuracy {result.RobustAccuracy:P2} under {instance}; success rate {result.SuccessRate:P1} on correct points; mean perturbation {result.MeanPerturbation:G4}, max {result.MaxPerturbation:G4}."));
            foreach (var other in evaluation.Entries.Skip(1))
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  at {FormatBudget(instance.Norm, other.Epsilon)}: robust accuracy {other.RobustAccuracy:P2}"));
            if (saveDir is not null) output.WriteLine($"Adversarial images written to {saveDir} (PNG, 8 bits: rounding can move a point by half a level).");
            if (reportFolder is not null) output.WriteLine(AttackReport.Write(reportFolder, result, instance.Norm, examples));
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    /// <summary>The --budgets values other than the main budget, sorted; bad values are usage errors.</summary>
    private static double[] ReadBudgets(string? text, double? main)
    {
        if (text is null) return [];
        if (main is null) throw new UsageException("--budgets needs an attack with a budget (--eps); this one has none.");
        var values = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(v => CommonOptions.Usage(() => Budget.Parse(v, "--budgets"), "--budgets")).ToArray();
        if (values.Length == 0) throw new UsageException("--budgets needs at least one budget, e.g. 2/255,4/255,16/255.");
        return values.Where(v => Math.Abs(v - main.Value) > 1e-12).Distinct().Order().ToArray();
    }

    /// <summary>A budget as people write it: 8/255 for l-inf, the number otherwise.</summary>
    public static string FormatBudget(Norm norm, double? epsilon) =>
        epsilon is not double e ? "no budget" : norm == Norm.Linf ? Budget.Format(e) : e.ToString("G4", CultureInfo.InvariantCulture);

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
        double CleanAccuracy, double RobustAccuracy, double SuccessRate, double MeanPerturbation, double MaxPerturbation, double Seconds, string? AdversarialFolder,
        IReadOnlyList<BudgetResult> Budgets);

    /// <summary>The attack at one budget (the main one and each of --budgets), in increasing budget.</summary>
    public sealed record BudgetResult(double? Epsilon, double RobustAccuracy, double SuccessRate, double MeanPerturbation, double MaxPerturbation, double Seconds);
}
