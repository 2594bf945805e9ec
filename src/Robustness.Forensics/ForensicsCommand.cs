using System.CommandLine;
using System.Globalization;
using Robustness.Cli.Abstractions;
using Robustness.Data;
using Robustness.Attacks;
using Robustness.Models;
using Robustness.Protection;

namespace Robustness.Forensics;

/// <summary>
/// <c>robustness forensics zoo</c>: builds model parsing's victim zoo into a folder, resumably (run it again after a
/// kill and it trains only what is missing). Attack records, the parsing network and its evaluation come next.
/// </summary>
public static class ForensicsCommand
{
    /// <summary>The command with its subcommands.</summary>
    public static Command Create(CommandContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new Command("forensics", "Model parsing of adversarial attacks: which model made this attack? (forensics module)") { Zoo(context), Attacks(context), Evaluate(context), TrainParser(context), Parse(context), Protection(context), Import(context) };
    }

    private static Command Zoo(CommandContext context)
    {
        var data = new Option<string>("--data") { Description = "Training images in class folders (square).", Required = true };
        var test = new Option<string?>("--test") { Description = "Test images in class folders: each victim's clean accuracy." };
        var outPath = new Option<string>("--out") { Description = "The zoo folder (victims/, dense/, zoo.json); an existing zoo of the same settings is resumed.", Required = true };
        var grid = new Option<string>("--grid") { Description = "full: RED-adv's grid (135 victims at the usual widths, 75 + 75 epochs); cpu: the same attribute values, width 16, 6 + 6 epochs.", DefaultValueFactory = _ => "cpu" };
        grid.AcceptOnlyFromAmong("cpu", "full");
        var perClass = new Option<int?>("--per-class") { Description = "Train on the first N images of each class (by file name), e.g. 200 for the cpu grid." };
        var architectures = new Option<string?>("--architectures") { Description = $"Only these architectures, comma-separated ({string.Join(", ", VictimArchitectures.Names)})." };
        var kernels = new Option<string?>("--kernels") { Description = "Only these kernel sizes, comma-separated (odd)." };
        var activations = new Option<string?>("--activations") { Description = "Only these activations, comma-separated (relu, tanh, elu)." };
        var sparsities = new Option<string?>("--sparsities") { Description = "Only these conv weight sparsities, comma-separated, each in [0, 1)." };
        var width = new Option<int?>("--width") { Description = "Build every architecture at this width instead of the grid's." };
        var epochs = new Option<int?>("--epochs") { Description = "Dense training epochs (default: the grid's)." };
        var retrain = new Option<int?>("--retrain-epochs") { Description = "Masked retraining epochs after pruning (default: the grid's)." };
        var rewind = new Option<int?>("--rewind-epoch") { Description = "Rewind pruned weights to the dense network after this many epochs (0 = initial weights; default: the grid's)." };
        var lr = new Option<double?>("--lr") { Description = "Peak learning rate (SGD, cosine; default 0.1)." };
        var batch = new Option<int?>("--batch-size") { Description = "Images per step (default 128)." };
        var seed = new Option<int>("--seed") { Description = "Seed of every victim.", DefaultValueFactory = _ => 0 };
        var design = Design();
        var command = new Command("zoo", "Train the victim zoo: architecture x kernel size x activation x conv sparsity (one-shot global magnitude pruning with rewinding), resumable.")
        {
            data, test, outPath, grid, perClass, architectures, kernels, activations, sparsities, width, epochs, retrain, rewind, lr, batch, seed, design,
        };
        command.SetAction((parse, cancel) =>
        {
            var g = VictimGrid.Preset(parse.GetValue(grid)!);
            if (parse.GetValue(architectures) is string a)
            {
                var names = List(a, "--architectures", s => VictimArchitectures.Names.Contains(s) ? s : throw new ArgumentException($"--architectures: '{s}' is not one of {string.Join(", ", VictimArchitectures.Names)}."));
                g = g with { Widths = names.ToDictionary(n => n, n => g.Widths.TryGetValue(n, out int w) ? w : VictimGrid.Full.Widths[n]) };
            }
            if (parse.GetValue(width) is int w) g = g with { Widths = g.Widths.Keys.ToDictionary(n => n, _ => w) };
            if (parse.GetValue(kernels) is string k) g = g with { KernelSizes = List(k, "--kernels", s => int.TryParse(s, CultureInfo.InvariantCulture, out int v) ? v : throw new ArgumentException($"--kernels: '{s}' is not a whole number.")) };
            if (parse.GetValue(activations) is string f)
                g = g with { Activations = List(f, "--activations", s => Enum.TryParse<ActivationKind>(s, ignoreCase: true, out var v) && v is ActivationKind.Relu or ActivationKind.Tanh or ActivationKind.Elu ? v : throw new ArgumentException($"--activations: '{s}' is not relu, tanh or elu.")) };
            if (parse.GetValue(sparsities) is string p)
                g = g with { Sparsities = List(p, "--sparsities", s => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : throw new ArgumentException($"--sparsities: '{s}' is not a number.")) };
            g = g with
            {
                Epochs = parse.GetValue(epochs) ?? g.Epochs, RetrainEpochs = parse.GetValue(retrain) ?? g.RetrainEpochs, RewindEpoch = parse.GetValue(rewind) ?? g.RewindEpoch,
                LearningRate = parse.GetValue(lr) ?? g.LearningRate, BatchSize = parse.GetValue(batch) ?? g.BatchSize,
            };
            VictimZoo zoo;
            try { zoo = new VictimZoo(g, parse.GetValue(seed)); }
            catch (ArgumentOutOfRangeException e) { throw new ArgumentException($"--{Kebab(e.ParamName)}: {e.Message.Split(" (Parameter")[0]}", e); }

            var train = ReadFolder(parse.GetValue(data)!, "--data", null);
            if (parse.GetValue(perClass) is int n)
            {
                if (n < 1) throw new ArgumentException($"--per-class must be at least 1; got {n}.");
                train = FirstPerClass(train, n);
            }
            var testSet = parse.GetValue(test) is string t ? ReadFolder(t, "--test", train.Height).AlignClasses(train.ClassNames) : null;
            var victims = Select(g.Victims(), v => v, parse.GetValue(design)!);
            context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Victim zoo '{g.Name}': {victims.Count} victims ({g.Widths.Count} architectures x {g.KernelSizes.Count} kernel sizes x {g.Activations.Count} activations x {g.Sparsities.Count} sparsities{(victims.Count < g.Victims().Count ? ", Latin fraction" : "")}), {g.Epochs} + {g.RetrainEpochs} epochs on {train.Count} images."));
            var index = zoo.Build(train, testSet, parse.GetValue(outPath)!, victims, progress: new SyncProgress<VictimProgress>(r =>
            {
                if (r.Record is { } v)
                    context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"[{r.Index + 1}/{r.Total}] {v.Id}: {(r.Stage == "kept" ? "already trained" : $"trained in {v.Seconds:F0} s")}, conv sparsity {v.ConvSparsity:P1}{(double.IsNaN(v.TestAccuracy) ? "" : $", test accuracy {v.TestAccuracy:P2}")}"));
            }), cancellationToken: cancel);
            context.Output.WriteLine($"{index.Victims.Count} victims in {Path.Combine(parse.GetValue(outPath)!, ZooIndex.FileName)}.");
            return Task.FromResult(0);
        });
        return command;
    }

    /// <summary><c>--design full|latin</c>: every victim, or the grid's balanced third (<see cref="VictimGrid.LatinFraction"/>).</summary>
    private static Option<string> Design()
    {
        var design = new Option<string>("--design")
        {
            Description = "full: every victim of the grid; latin: a balanced third (one sparsity per architecture, kernel and activation by a Latin square: every attribute value and every pair of values still occur).",
            DefaultValueFactory = _ => "full",
        };
        design.AcceptOnlyFromAmong("full", "latin");
        return design;
    }

    private static IReadOnlyList<T> Select<T>(IReadOnlyList<T> victims, Func<T, VictimAttributes> attributes, string design) =>
        design == "latin" ? VictimGrid.LatinFraction(victims, attributes) : victims;

    private static Command Attacks(CommandContext context)
    {
        var zoo = new Option<string>("--zoo") { Description = "A victim zoo folder (robustness forensics zoo).", Required = true };
        var data = new Option<string>("--data") { Description = "The images to attack, in class folders (e.g. the test images).", Required = true };
        var outPath = new Option<string>("--out") { Description = "The record folder (clean.safetensors, splits.json, shards/, index.jsonl); an existing one of the same images is resumed.", Required = true };
        var set = new Option<string>("--attacks") { Description = "full: RED-adv's 27 l-inf settings; cpu: 13 (every attack type; FGSM and PGD at 4/8/12/16, the rest at 8/255, fewer queries).", DefaultValueFactory = _ => "cpu" };
        set.AcceptOnlyFromAmong("cpu", "full");
        var only = new Option<string?>("--only") { Description = $"Only these attack types, comma-separated ({string.Join(", ", RecordedAttack.Types)})." };
        var images = new Option<int>("--images") { Description = "Images attacked on every victim (a seeded choice).", DefaultValueFactory = _ => 1000 };
        var batch = new Option<int>("--batch-size") { Description = "Images per attack batch.", DefaultValueFactory = _ => 250 };
        var seed = new Option<int>("--seed") { Description = "Seed of the image choice, the splits and the attacks.", DefaultValueFactory = _ => 0 };
        var design = Design();
        var command = new Command("attacks", "Attack every victim of a zoo with every setting and keep the adversarial examples as model parsing's dataset, resumably.")
        {
            zoo, data, outPath, set, only, images, batch, seed, design,
        };
        command.SetAction((parse, cancel) =>
        {
            string zooFolder = parse.GetValue(zoo)!;
            var index = ZooIndex.Read(zooFolder) ?? throw new ArgumentException($"--zoo: '{zooFolder}' holds no victim zoo (no {ZooIndex.FileName}).");
            string designName = parse.GetValue(design)!;
            index = index with { Victims = Select(index.Victims, v => v.Attributes, designName) };
            if (index.Victims.Count == 0) throw new ArgumentException($"--zoo: '{zooFolder}' has no victims yet.");
            var settings = RecordedAttack.Preset(parse.GetValue(set)!);
            if (parse.GetValue(only) is string o)
            {
                var types = List(o, "--only", s => RecordedAttack.Types.Contains(s) ? s : throw new ArgumentException($"--only: '{s}' is not one of {string.Join(", ", RecordedAttack.Types)}."));
                settings = [.. settings.Where(a => types.Contains(a.Attack))];
            }
            AttackRecorder recorder;
            try { recorder = new AttackRecorder(settings, new AttackRecordOptions { Images = parse.GetValue(images), BatchSize = parse.GetValue(batch), Seed = parse.GetValue(seed) }); }
            catch (ArgumentOutOfRangeException e) { throw new ArgumentException($"--{(e.ParamName == nameof(AttackRecordOptions.BatchSize) ? "batch-size" : (e.ParamName ?? "?").ToLowerInvariant())}: {e.Message.Split(" (Parameter")[0]}", e); }
            using var first = Classifier.Load(Path.Combine(zooFolder, index.Victims[0].File));
            var source = ReadFolder(parse.GetValue(data)!, "--data", first.Spec.ImageSize).AlignClasses(first.ClassNames);
            context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Recording {settings.Count} attack settings on {index.Victims.Count} victims, {Math.Min(recorder.Options.Images, source.Count)} images each."));
            var records = recorder.Record(zooFolder, source, parse.GetValue(outPath)!, new SyncProgress<AttackShard>(s =>
                context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{s.Victim} / {s.Setting}: {s.FooledRate:P1} fooled, {s.Seconds:F1} s"))), cancel,
                victims => Select(victims, v => v.Attributes, designName));
            context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{records.Shards.Count} shards in {Path.Combine(parse.GetValue(outPath)!, AttackRecordSet.IndexFile)}; splits: {records.Splits.TrainImages.Count}/{records.Splits.ValidationImages.Count}/{records.Splits.TestImages.Count} images, {records.Splits.HeldOutVictims.Count} held-out victims."));
            return Task.FromResult(0);
        });
        return command;
    }

    private static Command Evaluate(CommandContext context)
    {
        var shared = new ParserOptions("perturbation");
        var outPath = new Option<string>("--out") { Description = "Report folder: parsing.md, parsing.json, cross-attack.png, cross-budget.png.", Required = true };
        var zoo = new Option<string?>("--zoo") { Description = "The victim zoo the records came from: also run the transfer study (each victim's examples sent to every other victim; does the parser name the source or the target?)." };
        var transferSetting = new Option<string>("--transfer-setting") { Description = "The recorded setting the transfer study replays (with --zoo).", DefaultValueFactory = _ => "pgd-eps8" };
        var command = new Command("evaluate", "Train model parsing networks on attack records and report per-attribute accuracy against chance: in distribution, across attack types and budgets, on held-out victims, and (with --zoo) on transfer attacks.")
        {
            outPath, zoo, transferSetting,
        };
        shared.AddTo(command);
        command.SetAction((parse, cancel) =>
        {
            var (records, input, options, denoiser, successfulOnly) = shared.Read(parse);
            var transfer = parse.GetValue(zoo) is { } zooFolder ? new TransferStudy(zooFolder, parse.GetValue(transferSetting)!) : null;
            if (transfer is not null)
            {
                try { TransferParsing.Check(records, transfer); }
                catch (ArgumentException e) { throw new ArgumentException($"--zoo / --transfer-setting: {e.Message.Split(" (Parameter")[0]}", e); }
            }
            var report = new ParsingEvaluation(options, input, successfulOnly, denoiser).Run(records, new SyncProgress<string>(context.Output.WriteLine), cancel, transfer);
            ParsingEvaluation.Write(report, parse.GetValue(outPath)!);
            context.Output.Write(report.ToMarkdown());
            context.Output.WriteLine($"Wrote {Path.Combine(parse.GetValue(outPath)!, "parsing.md")} and its pictures.");
            return Task.FromResult(0);
        });
        return command;
    }

    private static Command TrainParser(CommandContext context)
    {
        var shared = new ParserOptions("denoised");
        var outPath = new Option<string>("--out") { Description = "The parser file (safetensors).", Required = true };
        var command = new Command("train", "Train one model parser on every training record (all attacks and victims) and save it for robustness forensics parse.") { outPath };
        shared.AddTo(command);
        command.SetAction((parse, cancel) =>
        {
            var (records, input, options, denoiser, successfulOnly) = shared.Read(parse);
            using var parser = ParserFile.Train(records, options, input, successfulOnly, denoiser, new SyncProgress<string>(context.Output.WriteLine), cancel);
            parser.Save(parse.GetValue(outPath)!);
            context.Output.WriteLine($"Saved the parser ({string.Join(", ", parser.Network.Schema.Names)}; input {input.ToString().ToLowerInvariant()}) to {parse.GetValue(outPath)}.");
            return Task.FromResult(0);
        });
        return command;
    }

    /// <summary>The options <c>evaluate</c> and <c>train</c> share: the records, what the parser sees, its recipe and the denoiser's.</summary>
    private sealed class ParserOptions(string defaultInput)
    {
        private readonly Option<string> _records = new("--records") { Description = "An attack record folder (robustness forensics attacks).", Required = true };
        private readonly Option<string> _input = new("--input")
        {
            Description = "What the parser sees: the perturbation x'-x (needs the clean image), the adversarial image x', or x'-D(x') from a DnCNN denoiser D.",
            DefaultValueFactory = _ => defaultInput,
        };
        private readonly Option<string> _backbone = new("--backbone") { Description = "The parser's backbone.", DefaultValueFactory = _ => "convnet4" };
        private readonly Option<bool> _all = new("--all-examples") { Description = "Use every attacked image, not only those the victim got right and the attack fooled (RED-adv's choice)." };
        private readonly Option<int> _epochs = new("--epochs") { Description = "Parser training epochs (RED-adv: 100).", DefaultValueFactory = _ => 100 };
        private readonly Option<int> _batch = new("--batch-size") { Description = "Parser batch size (RED-adv: 512, on tens of thousands of examples; on a few thousand, 64 gave the parser ten times the steps and clearly better accuracy: the progress lines say the steps per epoch).", DefaultValueFactory = _ => 512 };
        private readonly Option<double> _lr = new("--lr") { Description = "Parser peak learning rate (SGD, cosine).", DefaultValueFactory = _ => 0.1 };
        private readonly Option<int> _seed = new("--seed") { Description = "Seed of the parsers and the denoiser.", DefaultValueFactory = _ => 0 };
        private readonly Option<int> _denoiserDepth = new("--denoiser-depth") { Description = "DnCNN convolutions (RED-adv: 17).", DefaultValueFactory = _ => 17 };
        private readonly Option<int> _denoiserWidth = new("--denoiser-width") { Description = "DnCNN channels (RED-adv: 64).", DefaultValueFactory = _ => 64 };
        private readonly Option<int> _denoiserEpochs = new("--denoiser-epochs") { Description = "DnCNN training epochs (RED-adv: 20).", DefaultValueFactory = _ => 20 };

        public void AddTo(Command command)
        {
            _input.AcceptOnlyFromAmong("perturbation", "adversarial", "denoised");
            _backbone.AcceptOnlyFromAmong("convnet4", "resnet9");
            foreach (var option in new Option[] { _records, _input, _backbone, _all, _epochs, _batch, _lr, _seed, _denoiserDepth, _denoiserWidth, _denoiserEpochs })
                command.Options.Add(option);
        }

        public (AttackRecordSet Records, ParsingInput Input, ParsingOptions Parser, DenoiserOptions Denoiser, bool SuccessfulOnly) Read(ParseResult parse)
        {
            string folder = parse.GetValue(_records)!;
            if (!File.Exists(Path.Combine(folder, "splits.json"))) throw new ArgumentException($"--records: '{folder}' holds no attack records (no splits.json).");
            var input = parse.GetValue(_input) switch { "adversarial" => ParsingInput.Adversarial, "denoised" => ParsingInput.Denoised, _ => ParsingInput.Perturbation };
            int seed = parse.GetValue(_seed);
            ParsingOptions parser;
            DenoiserOptions denoiser;
            try
            {
                parser = new ParsingOptions
                {
                    Backbone = parse.GetValue(_backbone) == "resnet9" ? ParsingBackbone.ResNet9 : ParsingBackbone.ConvNet4,
                    Epochs = parse.GetValue(_epochs), BatchSize = parse.GetValue(_batch), LearningRate = parse.GetValue(_lr), Seed = seed,
                }.Validate();
            }
            catch (ArgumentOutOfRangeException e) { throw new ArgumentException($"--{Kebab(e.ParamName)}: {e.Message.Split(" (Parameter")[0]}", e); }
            try
            {
                denoiser = new DenoiserOptions
                {
                    Depth = parse.GetValue(_denoiserDepth), Width = parse.GetValue(_denoiserWidth), Epochs = parse.GetValue(_denoiserEpochs), Seed = seed,
                }.Validate();
            }
            catch (ArgumentOutOfRangeException e) { throw new ArgumentException($"--denoiser-{(e.ParamName ?? "?").ToLowerInvariant()}: {e.Message.Split(" (Parameter")[0]}", e); }
            return (AttackRecordSet.Open(folder), input, parser, denoiser, !parse.GetValue(_all));
        }
    }

    private static Command Parse(CommandContext context)
    {
        var parserPath = new Option<string>("--parser") { Description = "A parser file (robustness forensics train).", Required = true };
        var images = new Argument<string>("images") { Description = "An adversarial image, or a folder of them (class subfolders or flat)." };
        var clean = new Option<string?>("--clean") { Description = "The clean image or folder (same relative names), for a parser of perturbations." };
        var command = new Command("parse", "Say which victim model most likely produced an adversarial image: each attribute's predicted value and its probability.")
        {
            parserPath, images, clean,
        };
        command.SetAction((parse, cancel) =>
        {
            string file = parse.GetValue(parserPath)!;
            if (!File.Exists(file)) throw new ArgumentException($"--parser file '{file}' does not exist.");
            using var parser = ParserFile.Load(file);
            var (names, adversarial) = ReadImages(parse.GetValue(images)!, "images", parser.ImageSize);
            TorchSharp.torch.Tensor? cleanImages = null;
            if (parse.GetValue(clean) is string c)
            {
                var (cleanNames, read) = ReadImages(c, "--clean", parser.ImageSize);
                if (!cleanNames.SequenceEqual(names)) throw new ArgumentException("--clean must hold the same relative file names as the adversarial images.");
                cleanImages = read;
            }
            var results = parser.Parse(adversarial, cleanImages);
            context.Output.WriteLine($"| image | {string.Join(" | ", parser.Network.Schema.Names)} |");
            context.Output.WriteLine($"|---|{string.Concat(parser.Network.Schema.Names.Select(_ => "---|"))}");
            for (int i = 0; i < results.Count; i++)
                context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {names[i]} | {string.Join(" | ", results[i].Values.Select((v, a) => $"{v} ({results[i].Probabilities[a]:P0})"))} |"));
            adversarial.Dispose();
            cleanImages?.Dispose();
            return Task.FromResult(0);
        });
        return command;
    }

    private static Command Import(CommandContext context)
    {
        var models = new Option<string>("--models") { Description = "Model files, comma-separated, or a folder of them (*.safetensors); each file's name is its victim's id.", Required = true };
        var outPath = new Option<string>("--out") { Description = "The zoo folder to create or add to (victims/, zoo.json).", Required = true };
        var test = new Option<string?>("--test") { Description = "Test images in class folders: each victim's clean accuracy." };
        var kernel = new Option<int>("--kernel") { Description = "Kernel size of models that carry no victim attributes (every built-in CNN: 3).", DefaultValueFactory = _ => 3 };
        var activation = new Option<string>("--activation") { Description = "Activation of models that carry no victim attributes (relu, tanh, elu).", DefaultValueFactory = _ => "relu" };
        activation.AcceptOnlyFromAmong("relu", "tanh", "elu");
        var command = new Command("import", "Register your own models (e.g. pruned ones) as a victim zoo for forensics attacks and evaluate: architecture from the model, conv sparsity measured.")
        {
            models, outPath, test, kernel, activation,
        };
        command.SetAction((parse, cancel) =>
        {
            string given = parse.GetValue(models)!;
            IReadOnlyList<string> files = Directory.Exists(given)
                ? [.. Directory.EnumerateFiles(given, "*.safetensors").Order(StringComparer.Ordinal)]
                : List(given, "--models", f => f);
            if (files.Count == 0) throw new ArgumentException($"--models: the folder '{given}' holds no .safetensors files.");
            foreach (var f in files)
                if (!File.Exists(f)) throw new ArgumentException($"--models: '{f}' does not exist.");
            if (parse.GetValue(kernel) is var k and (< 1 or > 15)) throw new ArgumentException($"--kernel must be in [1, 15]; got {k}.");
            var testSet = parse.GetValue(test) is string t ? ReadFolder(t, "--test", null) : null;
            string folder = parse.GetValue(outPath)!;
            var index = ZooImport.Import(files, folder, testSet, parse.GetValue(kernel), Enum.Parse<ActivationKind>(parse.GetValue(activation)!, ignoreCase: true),
                cancellationToken: cancel);
            // The whole zoo, listed afterwards: the victims just imported and any an earlier import into this folder left.
            foreach (var v in index.Victims)
                context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{v.Id}: {v.Attributes.Architecture}, conv sparsity {v.ConvSparsity:P1}{(double.IsNaN(v.TestAccuracy) ? "" : $", test accuracy {v.TestAccuracy:P2}")}"));
            context.Output.WriteLine($"{index.Victims.Count} victims in {Path.Combine(folder, ZooIndex.FileName)}.");
            return Task.FromResult(0);
        });
        return command;
    }

    private static Command Protection(CommandContext context)
    {
        var defaults = new ProtectionParsingOptions();
        var data = new Option<string>("--data") { Description = "Training images of the source models, in class folders.", Required = true };
        var images = new Option<string>("--images") { Description = "Images to protect, in class folders of the same classes (e.g. test images).", Required = true };
        var outPath = new Option<string>("--out") { Description = "The study folder (sources/, protected/, the report); an existing one of the same settings is resumed.", Required = true };
        var perClass = new Option<int?>("--per-class") { Description = "Train the sources on the first N images of each class (by file name)." };
        var architectures = new Option<string>("--architectures") { Description = $"Source architectures, comma-separated ({string.Join(", ", VictimArchitectures.Names)}).", DefaultValueFactory = _ => string.Join(",", defaults.Architectures) };
        var checkpoints = new Option<string>("--checkpoints") { Description = "Checkpoint counts K SEP averages, comma-separated (1: the final checkpoint alone).", DefaultValueFactory = _ => string.Join(",", defaults.CheckpointCounts) };
        var epochs = new Option<int>("--epochs") { Description = "Source training epochs (a checkpoint per epoch).", DefaultValueFactory = _ => defaults.SourceEpochs };
        var width = new Option<int>("--width") { Description = "Width of the source models.", DefaultValueFactory = _ => defaults.Width };
        var protect = new Option<int>("--protect") { Description = "Images each protector protects (a seeded choice of --images).", DefaultValueFactory = _ => defaults.Images };
        var iterations = new Option<int>("--iterations") { Description = "SEP iterations T.", DefaultValueFactory = _ => defaults.Sep.Iterations };
        var eps = new Option<string>("--eps") { Description = "SEP's l-inf budget, e.g. 8/255.", DefaultValueFactory = _ => "8/255" };
        var parserEpochs = new Option<int>("--parser-epochs") { Description = "Parser training epochs.", DefaultValueFactory = _ => defaults.Parser.Epochs };
        var parserLr = new Option<double>("--parser-lr") { Description = "Parser peak learning rate (SGD, cosine; RED-adv: 0.1).", DefaultValueFactory = _ => defaults.Parser.LearningRate };
        var parserBatch = new Option<int>("--parser-batch-size") { Description = "Parser batch size (RED-adv: 512; a few thousand examples want 64 or so: the progress lines say the steps per epoch).", DefaultValueFactory = _ => defaults.Parser.BatchSize };
        var seed = new Option<int>("--seed") { Description = "Seed of the image choice, the split, the sources and SEP.", DefaultValueFactory = _ => 0 };
        var denoiserDepth = new Option<int>("--denoiser-depth") { Description = "DnCNN convolutions for the x' - D(x') parser (RED-adv: 17).", DefaultValueFactory = _ => defaults.Denoiser!.Depth };
        var denoiserWidth = new Option<int>("--denoiser-width") { Description = "DnCNN channels (RED-adv: 64).", DefaultValueFactory = _ => defaults.Denoiser!.Width };
        var denoiserEpochs = new Option<int>("--denoiser-epochs") { Description = "DnCNN training epochs (RED-adv: 20).", DefaultValueFactory = _ => defaults.Denoiser!.Epochs };
        var noDenoiser = new Option<bool>("--no-denoiser") { Description = "Skip the denoiser and its parser (perturbation and protected-image parsers only)." };
        var command = new Command("protection", "Does protection leak the protector? Protect the same images with SEP from several source architectures and checkpoint counts, then train parsers to name them on images they never saw.")
        {
            data, images, outPath, perClass, architectures, checkpoints, epochs, width, protect, iterations, eps, parserEpochs, parserBatch, parserLr, seed,
            denoiserDepth, denoiserWidth, denoiserEpochs, noDenoiser,
        };
        command.SetAction((parse, cancel) =>
        {
            ProtectionParsingOptions options;
            double budget = Budget.Parse(parse.GetValue(eps)!, "--eps");
            DenoiserOptions? denoiser = null;
            if (!parse.GetValue(noDenoiser))
            {
                try { denoiser = (defaults.Denoiser! with { Depth = parse.GetValue(denoiserDepth), Width = parse.GetValue(denoiserWidth), Epochs = parse.GetValue(denoiserEpochs) }).Validate(); }
                catch (ArgumentOutOfRangeException e) { throw new ArgumentException($"--denoiser-{(e.ParamName ?? "?").ToLowerInvariant()}: {e.Message.Split(" (Parameter")[0]}", e); }
            }
            try
            {
                options = new ProtectionParsingOptions
                {
                    Architectures = List(parse.GetValue(architectures)!, "--architectures", a => a),
                    CheckpointCounts = List(parse.GetValue(checkpoints)!, "--checkpoints", k => int.TryParse(k, CultureInfo.InvariantCulture, out int v) ? v : throw new ArgumentException($"--checkpoints: '{k}' is not a whole number.")),
                    SourceEpochs = parse.GetValue(epochs), Width = parse.GetValue(width), Images = parse.GetValue(protect),
                    Sep = defaults.Sep with { Iterations = parse.GetValue(iterations), Epsilon = budget },
                    Parser = defaults.Parser with { Epochs = parse.GetValue(parserEpochs), BatchSize = parse.GetValue(parserBatch), LearningRate = parse.GetValue(parserLr), Seed = parse.GetValue(seed) },
                    Seed = parse.GetValue(seed),
                    Denoiser = denoiser,
                }.Validate();
            }
            catch (ArgumentException e) when (e.ParamName is { } name)
            {
                string option = name switch
                {
                    nameof(ProtectionParsingOptions.CheckpointCounts) => "--checkpoints", nameof(ProtectionParsingOptions.SourceEpochs) => "--epochs",
                    nameof(ProtectionParsingOptions.Images) => "--protect", nameof(SepOptions.Iterations) => "--iterations", nameof(ParsingOptions.Epochs) => "--parser-epochs",
                    nameof(ParsingOptions.BatchSize) => "--parser-batch-size", nameof(ParsingOptions.LearningRate) => "--parser-lr",
                    _ => "--" + name.ToLowerInvariant(),
                };
                throw new ArgumentException($"{option}: {e.Message.Split(" (Parameter")[0]}", e);
            }
            var train = ReadFolder(parse.GetValue(data)!, "--data", null);
            if (parse.GetValue(perClass) is int n)
            {
                if (n < 1) throw new ArgumentException($"--per-class must be at least 1; got {n}.");
                train = FirstPerClass(train, n);
            }
            var toProtect = ReadFolder(parse.GetValue(images)!, "--images", train.Height).AlignClasses(train.ClassNames);
            string folder = parse.GetValue(outPath)!;
            context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Protection parsing: {options.Protectors.Count} protectors ({string.Join(", ", options.Architectures)} x K = {string.Join(", ", options.CheckpointCounts)}), {Math.Min(options.Images, toProtect.Count)} images each; sources trained on {train.Count} images."));
            var report = new ProtectionParsing(options).Run(train, toProtect, folder, new SyncProgress<string>(context.Output.WriteLine), cancel);
            ProtectionParsing.Write(report, folder);
            context.Output.Write(report.ToMarkdown());
            context.Output.WriteLine($"Wrote {Path.Combine(folder, "protection.md")} and its pictures.");
            return Task.FromResult(0);
        });
        return command;
    }

    // One image file or a folder (with or without class subfolders), resized to the parser's size; names relative to the folder.
    private static (IReadOnlyList<string> Names, TorchSharp.torch.Tensor Images) ReadImages(string path, string option, int size)
    {
        if (File.Exists(path))
        {
            var image = ImageFileReader.Read(path, SizePolicy.Resize(size, size));
            var set = new ImageSet(image.Pixels, [0L], 3, size, size, ["image"]);
            return ([Path.GetFileName(path)], set.ToTensor());
        }
        if (!Directory.Exists(path)) throw new ArgumentException($"{option}: '{path}' is neither an image nor a folder.");
        var files = Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories).Where(ImageFileReader.HasSupportedExtension).Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0) throw new ArgumentException($"{option}: '{path}' holds no images.");
        var pixels = new List<byte>();
        foreach (var f in files) pixels.AddRange(ImageFileReader.Read(f, SizePolicy.Resize(size, size)).Pixels);
        var all = new ImageSet(pixels.ToArray(), new long[files.Count], 3, size, size, ["image"]);
        return ([.. files.Select(f => Path.GetRelativePath(path, f))], all.ToTensor());
    }

    private static ImageSet ReadFolder(string folder, string option, int? size)
    {
        if (!Directory.Exists(folder)) throw new ArgumentException($"{option} folder '{folder}' does not exist.");
        return ImageFolderReader.Read(folder, new ImageFolderOptions { Size = size is int s ? SizePolicy.Resize(s, s) : SizePolicy.MatchFirst }).Images;
    }

    // The first n images of each class in the reader's order (ordinal file names), so the subset is the same on every run.
    private static ImageSet FirstPerClass(ImageSet images, int n)
    {
        var taken = new int[images.ClassNames.Count];
        var keep = new List<int>();
        for (int i = 0; i < images.Count; i++)
            if (taken[images.GetLabel(i)]++ < n) keep.Add(i);
        return images.Subset(keep);
    }

    private static IReadOnlyList<T> List<T>(string text, string option, Func<string, T> parse)
    {
        var items = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (items.Length == 0) throw new ArgumentException($"{option} lists nothing.");
        return [.. items.Select(parse)];
    }

    private static string Kebab(string? name) => name switch
    {
        nameof(VictimGrid.Widths) => "width",
        nameof(VictimGrid.KernelSizes) => "kernels",
        nameof(VictimGrid.Sparsities) => "sparsities",
        nameof(VictimGrid.RetrainEpochs) => "retrain-epochs",
        nameof(VictimGrid.RewindEpoch) => "rewind-epoch",
        nameof(VictimGrid.LearningRate) => "lr",
        nameof(VictimGrid.BatchSize) or nameof(ParsingOptions.BatchSize) => "batch-size",
        _ => (name ?? "?").ToLowerInvariant(),
    };
}
