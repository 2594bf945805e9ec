using System.CommandLine;
using System.Text.Json;
using Robustness.Attacks;
using Robustness.Cli.Abstractions;
using Robustness.Cli.Output;
using Robustness.Hosting;
using Robustness.IO;
using Robustness.Models;

namespace Robustness.Cli.Commands;

/// <summary>
/// <c>robustness card</c>: the cost card (parameters, MACs, measured latency; with --data, clean and robust accuracy)
/// of a saved model, of an architecture by name, or of every model family the host knows (--zoo).
/// </summary>
public static class CardCommand
{
    /// <summary>The command, reading the host's model families and catalogue through <paramref name="context"/>.</summary>
    public static Command Create(CommandContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var model = new Option<string?>("--model") { Description = "A saved model (safetensors with metadata)." };
        var arch = new Option<string?>("--arch") { Description = "An architecture by name, freshly initialised (cost only)." };
        var width = new Option<int>("--width") { Description = "With --arch: the width (0 = the family's standard).", DefaultValueFactory = _ => 0 };
        var archSpec = CommonOptions.ArchSpecFile();
        var zoo = new Option<bool>("--zoo") { Description = "One card per model family of the host, each at its standard size." };
        var data = new Option<string?>("--data") { Description = "Test images in class folders: adds clean accuracy and, with --attack, robust accuracy." };
        var attack = new Option<string?>("--attack") { Description = "With --data: the attack for robust accuracy (e.g. pgd), at --eps." };
        var eps = new Option<string>("--eps") { Description = "The attack's budget.", DefaultValueFactory = _ => "8/255" };
        var batchSizes = new Option<string>("--batch-sizes") { Description = "Batch sizes to time, comma-separated.", DefaultValueFactory = _ => "1,64" };
        var threads = new Option<int?>("--threads") { Description = "Intra-op threads while timing (default: as configured)." };
        var device = CommonOptions.Device();
        var json = new Option<string?>("--json") { Description = "Also write the cards as JSON to this file." };
        var command = new Command("card", "The cost card of a model: parameters, MACs, measured latency, and accuracy with --data.")
        {
            model, arch, width, archSpec, zoo, data, attack, eps, batchSizes, threads, device, json,
        };
        command.SetAction((parse, cancel) =>
        {
            int chosen = new[] { parse.GetValue(model) is not null, parse.GetValue(arch) is not null, parse.GetValue(archSpec) is not null, parse.GetValue(zoo) }.Count(b => b);
            if (chosen != 1) throw new UsageException("Give exactly one of --model FILE, --arch NAME, --spec FILE.json and --zoo.");
            var sizes = parse.GetValue(batchSizes)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(s => int.TryParse(s, out int b) && b >= 1 ? b : throw new UsageException($"--batch-sizes: '{s}' is not a whole number >= 1.")).ToArray();
            var latency = CommonOptions.Usage(() => new LatencyOptions { BatchSizes = sizes, Threads = parse.GetValue(threads) }.Validate(), "--threads");
            var deviceValue = CommonOptions.ResolveDevice(parse, device);
            if (parse.GetValue(attack) is not null && parse.GetValue(data) is null) throw new UsageException("--attack needs --data.");

            var cards = new List<CostCard>();
            if (parse.GetValue(zoo))
            {
                foreach (var family in context.Models.Families)
                {
                    cancel.ThrowIfCancellationRequested();
                    using var classifier = Classifier.Create(family.StandardSpec(), device: deviceValue, seed: 0, families: context.Models);
                    cards.Add(CostCard.For(classifier, latency, cancellationToken: cancel));
                    context.Output.WriteLine($"  {family.Name}: done");
                }
            }
            else
            {
                using var classifier = parse.GetValue(model) is string path
                    ? File.Exists(path) ? Classifier.Load(path, deviceValue, context.Models) : throw new UsageException($"--model file '{path}' does not exist.")
                    : parse.GetValue(archSpec) is string specFile
                    ? Classifier.Create(CommonOptions.ReadArchSpec(specFile, 10, 3, 32), device: deviceValue, seed: 0, families: context.Models)
                    : CommonOptions.Usage(() => Classifier.Create(context.Models.Get(parse.GetValue(arch)!).StandardSpec() with { Width = parse.GetValue(width) },
                        device: deviceValue, seed: 0, families: context.Models), "--arch");
                Data.ImageSet? test = null;
                IAttack? instance = null;
                if (parse.GetValue(data) is string folder)
                {
                    test = DataSources.ReadFolder(folder, context.Error, size: classifier.Spec.ImageSize).AlignClasses(classifier.ClassNames);
                    if (parse.GetValue(attack) is string name)
                    {
                        var definition = CommonOptions.Usage(() => context.Catalog.Create(TechniqueFamily.Attacks, name), "--attack");
                        double budget = CommonOptions.Usage(() => Budget.Parse(parse.GetValue(eps)!, "--eps"), "--eps");
                        instance = CommonOptions.Usage(() => definition.Build(new AttackSettings { Epsilon = budget }), "--attack");
                    }
                }
                cards.Add(CostCard.For(classifier, latency, test, instance, cancel));
            }
            context.Output.Write(CostCard.ToMarkdown(cards));
            if (parse.GetValue(json) is string jsonPath)
            {
                AtomicFile.WriteAllText(jsonPath, JsonSerializer.Serialize(cards, ReportJson.Options));
                context.Output.WriteLine($"Cards written to {jsonPath}.");
            }
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }
}
