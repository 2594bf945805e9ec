using System.CommandLine;
using System.Globalization;
using Robustness.Cli.Abstractions;
using Robustness.Data;
using Robustness.Models;
using Robustness.Pruning;
using Robustness.Training;

namespace Robustness.Efficiency;

/// <summary>
/// <c>robustness multi-ratio train|export|latency</c>: All-in-One from the command line. <c>train</c> turns a model (or a fresh
/// spec) into one weight set serving several channel ratios; <c>export</c> writes one ratio as a normal smaller model;
/// <c>latency</c> measures every ratio at emulated frequency levels, picks the ratio per level for a latency target and
/// replays a switching trace against fixed models.
/// </summary>
public static class MultiRatioCommand
{
    /// <summary>The command with its three subcommands.</summary>
    public static Command Create(CommandContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new Command("multi-ratio", "All-in-One: one weight set for several channel ratios, exported per ratio, switched to meet a latency target (efficiency module).")
        {
            Train(context), Export(context), Latency(context),
        };
    }

    private static Command Train(CommandContext context)
    {
        var model = new Option<string?>("--model") { Description = "Start from this model (arch-spec, ResNet-18, VGG or WideResNet); or give --spec for a fresh one." };
        var spec = new Option<string?>("--spec") { Description = "A fresh CNN from an architecture spec (JSON)." };
        var data = new Option<string>("--data") { Description = "Training images in class folders.", Required = true };
        var test = new Option<string?>("--test") { Description = "Test images in class folders: accuracy per ratio at the end." };
        var ratios = new Option<string>("--ratios") { Description = "Channel ratios served, comma-separated, each in (0, 1].", DefaultValueFactory = _ => "1,0.75,0.5,0.25" };
        var epochs = new Option<int>("--epochs") { Description = "Epochs.", DefaultValueFactory = _ => 30 };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate (cosine decay).", DefaultValueFactory = _ => 0.1 };
        var batch = new Option<int>("--batch-size") { Description = "Images per step.", DefaultValueFactory = _ => 128 };
        var random = new Option<int>("--random-ratios") { Description = "Middle ratios drawn per step besides the largest and smallest (sandwich rule).", DefaultValueFactory = _ => 1 };
        var seed = new Option<int>("--seed") { Description = "Seed.", DefaultValueFactory = _ => 0 };
        var distillation = new Option<double>("--distillation-weight")
        {
            Description = "How much a drawn ratio learns from the full width's predictions rather than the labels, in [0, 1] (1 = pure in-place distillation).",
            DefaultValueFactory = _ => MultiRatioTrainingOptions.DefaultDistillationWeight,
        };
        var teacher = new Option<string?>("--teacher")
        {
            Description = "Robust All-in-One: every drawn ratio learns from this (e.g. adversarially trained) model's logits, PwoA-style, with no adversarial examples; training starts from it unless --model is given.",
        };
        var hsic = new Option<bool>("--hsic") { Description = "With --teacher: add PwoA's HSIC bottleneck (lambda_x 2e-5, lambda_y 1e-4) at every drawn ratio." };
        var outPath = new Option<string>("--out") { Description = "The multi-ratio model file (it also loads as the full-width model).", Required = true };
        var command = new Command("train", "Train one weight set for several channel ratios (sandwich rule, batch norm per ratio; --teacher for the robust version).")
        {
            model, spec, data, test, ratios, epochs, lr, batch, random, seed, distillation, teacher, hsic, outPath,
        };
        command.SetAction((parse, cancel) =>
        {
            string? teacherPath = parse.GetValue(teacher);
            if (parse.GetValue(model) is not null && parse.GetValue(spec) is not null) throw new ArgumentException("Give one of --model FILE and --spec FILE.json, not both.");
            if (parse.GetValue(model) is null && parse.GetValue(spec) is null && teacherPath is null)
                throw new ArgumentException("Give --model FILE, --spec FILE.json or --teacher FILE (training starts from the teacher).");
            if (parse.GetValue(hsic) && teacherPath is null) throw new ArgumentException("--hsic needs --teacher (it is part of the robust objective).");
            if (teacherPath is not null && !File.Exists(teacherPath)) throw new ArgumentException($"--teacher file '{teacherPath}' does not exist.");
            var ratioList = Ratios(parse.GetValue(ratios)!);
            MultiRatioTrainingOptions options;
            try
            {
                options = new MultiRatioTrainingOptions
                {
                    Epochs = parse.GetValue(epochs), LearningRate = parse.GetValue(lr), BatchSize = parse.GetValue(batch),
                    RandomRatiosPerStep = parse.GetValue(random), Seed = parse.GetValue(seed), DistillationWeight = parse.GetValue(distillation),
                }.Validate();
            }
            catch (ArgumentOutOfRangeException e) { throw new ArgumentException($"--{Option(e.ParamName)}: {e.Message.Split(" (Parameter")[0]}", e); }
            var train = ReadFolder(parse.GetValue(data)!, imageSize: null);
            using var teacherModel = teacherPath is null ? null : Classifier.Load(teacherPath, families: context.Models);
            teacherModel?.Eval();
            using var start = parse.GetValue(model) is string path
                ? File.Exists(path) ? Classifier.Load(path, families: context.Models) : throw new ArgumentException($"--model file '{path}' does not exist.")
                : parse.GetValue(spec) is string specPath
                    ? Classifier.Create(ReadSpec(specPath, train), ChannelStatistics.Of(train), train.ClassNames, seed: options.Seed, families: context.Models)
                    : teacherModel!.Clone();
            var trainSet = train.Height == start.Spec.ImageSize ? train.AlignClasses(start.ClassNames) : ReadFolder(parse.GetValue(data)!, start.Spec.ImageSize).AlignClasses(start.ClassNames);
            var testSet = parse.GetValue(test) is string t ? ReadFolder(t, start.Spec.ImageSize).AlignClasses(start.ClassNames) : null;
            MultiRatioNetwork network;
            try { network = MultiRatioNetwork.From(start, ratioList); }
            catch (ArgumentException e) when (e.ParamName == "classifier") { throw new ArgumentException($"--model: {e.Message.Split(" (Parameter")[0]}", e); }
            using (network)
            {
                ITrainingObjective? objective = null;
                if (teacherModel is not null)
                {
                    try
                    {
                        objective = new RobustSandwichObjective(network, teacherModel,
                            hsic: parse.GetValue(hsic) ? new HsicBottleneckLoss(start.Spec.Classes, new PwoaOptions().LambdaX, new PwoaOptions().LambdaY) : null,
                            randomRatiosPerStep: options.RandomRatiosPerStep);
                    }
                    catch (ArgumentException e) when (e.ParamName == "teacher") { throw new ArgumentException($"--teacher: {e.Message.Split(" (Parameter")[0]}", e); }
                }
                context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Training ratios {string.Join(", ", network.Ratios)} of {start.Spec.Architecture} on {trainSet.Count} images, {options.Epochs} epochs, {(objective ?? new SandwichObjective(network, options.RandomRatiosPerStep, options.DistillationWeight))}."));
                var result = new MultiRatioTrainer(options).Train(network, trainSet, testSet, objective: objective, progress: new SyncProgress<MultiRatioEpoch>(e =>
                    context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"epoch {e.Epoch + 1}/{options.Epochs}: loss {e.Loss:F3} (full width {e.FullCrossEntropy:F3}, drawn ratios {e.Distillation:F3} each), train accuracy {e.TrainAccuracy:P1}, {e.Duration.TotalSeconds:F1} s"))),
                    cancellationToken: cancel);
                network.Save(parse.GetValue(outPath)!);
                foreach (double ratio in network.Ratios)
                {
                    var served = network.Path(ratio);
                    string accuracy = result.TestAccuracy.TryGetValue(ratio, out double a) ? a.ToString("P2", CultureInfo.InvariantCulture) : "-";
                    context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ratio {ratio}: {served.ParameterCount:N0} parameters, {served.Macs:N0} MACs, test accuracy {accuracy}"));
                }
                context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Saved to {parse.GetValue(outPath)}: {network.SharedBytes / 1024.0:F0} KiB shared + {network.PerRatioBytes / 1024.0:F1} KiB of per-ratio batch norm."));
            }
            return Task.FromResult(0);
        });
        return command;
    }

    private static Command Export(CommandContext context)
    {
        var model = new Option<string>("--model") { Description = "A multi-ratio model file.", Required = true };
        var ratio = new Option<double>("--ratio") { Description = "The ratio to export.", Required = true };
        var outPath = new Option<string>("--out") { Description = "Where to write the ratio's model (a normal arch-spec model).", Required = true };
        var command = new Command("export", "Write one ratio of a multi-ratio model as a normal, smaller model.") { model, ratio, outPath };
        command.SetAction(parse =>
        {
            using var network = LoadNetwork(parse.GetValue(model)!);
            double r = parse.GetValue(ratio);
            if (!network.Ratios.Contains(r)) throw new ArgumentException($"--ratio {r.ToString(CultureInfo.InvariantCulture)}: the model serves {string.Join(", ", network.Ratios)}.");
            using var exported = network.Export(r);
            exported.Save(parse.GetValue(outPath)!);
            context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Ratio {r}: {exported.ParameterCount:N0} parameters, {exported.Macs:N0} MACs, saved to {parse.GetValue(outPath)}."));
            return 0;
        });
        return command;
    }

    private static Command Latency(CommandContext context)
    {
        var model = new Option<string>("--model") { Description = "A multi-ratio model file.", Required = true };
        var target = new Option<double?>("--target-ms") { Description = "Latency target per request in ms (default: the full model's median at the fastest level plus 25%); the controller decides by 90th percentiles." };
        var threads = new Option<string>("--threads") { Description = "Thread counts of the emulated levels, comma-separated.", DefaultValueFactory = _ => "2,1" };
        var factors = new Option<string>("--factors") { Description = "Relative clock factors of the emulated levels (duty-cycle throttle), comma-separated.", DefaultValueFactory = _ => "1,0.75,0.5" };
        var batch = new Option<int>("--batch-size") { Description = "Images per request.", DefaultValueFactory = _ => 16 };
        var repeats = new Option<int>("--repeats") { Description = "Timed requests per ratio and level for the table.", DefaultValueFactory = _ => 11 };
        var requests = new Option<int>("--requests") { Description = "Requests per level in the switching trace.", DefaultValueFactory = _ => 5 };
        var command = new Command("latency", "Latency of every ratio at emulated frequency levels, the controller's choice per level, and a switching trace.")
        {
            model, target, threads, factors, batch, repeats, requests,
        };
        command.SetAction(parse =>
        {
            var levels = FrequencyLevel.Grid(Numbers(parse.GetValue(threads)!, "--threads").Select(t => (int)t), Numbers(parse.GetValue(factors)!, "--factors"));
            using var network = LoadNetwork(parse.GetValue(model)!);
            var exported = network.Ratios.ToDictionary(r => r, network.Export);
            try
            {
                var timer = new ThrottledForwardTimer(exported, parse.GetValue(batch));
                var table = LatencyTable.Measure(timer, levels, network.Ratios, repeats: parse.GetValue(repeats));
                double targetMs = parse.GetValue(target) ?? 1.25 * table.MedianMs(levels[0], 1);
                var controller = new RatioController(table, targetMs);
                var o = context.Output;
                o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| level | {string.Join(" | ", network.Ratios.Select(r => $"ratio {r} ms"))} | controller (target {targetMs:F2} ms) |"));
                o.WriteLine($"|---|{string.Concat(network.Ratios.Select(_ => "---:|"))}---|");
                foreach (var level in levels)
                {
                    var (chosen, meets) = controller.Choose(level);
                    o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"| {level.Name} | {string.Join(" | ", network.Ratios.Select(r => table.MedianMs(level, r).ToString("F2", CultureInfo.InvariantCulture)))} | {chosen}{(meets ? "" : " (misses)")} |"));
                }
                var trace = SwitchingTrace.Run(timer, controller, levels.Concat(levels.Reverse().Skip(1)).Select(l => (l, parse.GetValue(requests))));
                o.WriteLine();
                o.WriteLine("| policy | mean ms | std ms | max ms | requests over target |");
                o.WriteLine("|---|---:|---:|---:|---:|");
                foreach (var group in trace.GroupBy(r => r.Policy))
                {
                    var ms = group.Select(r => r.LatencyMs).ToArray();
                    double mean = ms.Average(), std = Math.Sqrt(ms.Average(v => (v - mean) * (v - mean)));
                    o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {group.Key} | {mean:F2} | {std:F2} | {ms.Max():F2} | {ms.Count(v => v > targetMs)} of {ms.Length} |"));
                }
            }
            finally
            {
                foreach (var m in exported.Values) m.Dispose();
            }
            return 0;
        });
        return command;
    }

    private static MultiRatioNetwork LoadNetwork(string path)
    {
        if (!File.Exists(path)) throw new ArgumentException($"--model file '{path}' does not exist.");
        try { return MultiRatioNetwork.Load(path); }
        catch (InvalidDataException e) { throw new ArgumentException($"--model: {e.Message}", e); }
    }

    private static IReadOnlyList<double> Ratios(string text)
    {
        var list = Numbers(text, "--ratios");
        if (list.Any(r => !(r > 0 && r <= 1))) throw new ArgumentException($"--ratios: every ratio must be in (0, 1]; got {text}.");
        return list;
    }

    private static IReadOnlyList<double> Numbers(string text, string option) =>
        [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s =>
            double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v > 0 ? v : throw new ArgumentException($"{option}: '{s}' is not a positive number."))];

    private static ImageSet ReadFolder(string folder, int? imageSize) =>
        ImageFolderReader.Read(folder, new ImageFolderOptions { Size = imageSize is int s ? SizePolicy.Resize(s, s) : SizePolicy.MatchFirst })
            .Images;

    private static ModelSpec ReadSpec(string path, ImageSet train)
    {
        if (!File.Exists(path)) throw new ArgumentException($"--spec file '{path}' does not exist.");
        try { return ArchSpec.Parse(File.ReadAllText(path)).ToModelSpec(train.ClassNames.Count, train.Channels, train.Height); }
        catch (ArgumentException e) { throw new ArgumentException($"--spec: {e.Message.Split(" (Parameter")[0]}", e); }
    }

    private static string Option(string? name) => name switch
    {
        nameof(MultiRatioTrainingOptions.LearningRate) => "lr",
        nameof(MultiRatioTrainingOptions.BatchSize) => "batch-size",
        nameof(MultiRatioTrainingOptions.RandomRatiosPerStep) => "random-ratios",
        nameof(MultiRatioTrainingOptions.DistillationWeight) => "distillation-weight",
        _ => (name ?? "?").ToLowerInvariant(),
    };
}
