using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Robustness.Cli.Output;
using Robustness.Models;
using Robustness.Training;

namespace Robustness.Cli.Commands;

/// <summary>
/// <c>robustness import</c>: turns a PyTorch state dict (torch.save .pth/.pt, or safetensors without Robustness'
/// metadata) into a model file every other command reads, by naming the zoo architecture it fits, its classes and
/// the normalisation its training used. Optionally checks the result's accuracy on a labelled folder, which is how a
/// wrong normalisation shows.
/// </summary>
public static class ImportCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(TextWriter output, TextWriter error, ModelFamilyRegistry models)
    {
        var weights = new Option<string>("--weights", "-w") { Description = "The state dict: torch.save (.pth/.pt/.bin, zip format) or safetensors.", Required = true };
        var key = new Option<string?>("--key") { Description = "For a training checkpoint: the entry that holds the weights (default: the top level, else state_dict, model_state_dict, model, net, network, ema)." };
        var arch = new Option<string?>("--arch") { Description = $"The zoo architecture the weights fit: {string.Join(", ", models.Names)}." };
        arch.AcceptOnlyFromAmong([.. models.Names]);
        var width = new Option<int>("--width") { Description = "Base width (0 = the architecture's standard width).", DefaultValueFactory = _ => 0 };
        var depth = new Option<int>("--depth") { Description = "Depth, for the architectures that have one (0 = standard).", DefaultValueFactory = _ => 0 };
        var parameters = new Option<string[]>("--param")
        {
            Description = "A family parameter as NAME=VALUE (JSON value), e.g. heads=3 for the ViT; repeatable.",
            AllowMultipleArgumentsPerToken = false,
        };
        var archSpec = CommonOptions.ArchSpecFile();
        var classes = new Option<string>("--classes")
        {
            Description = "The classes, in the order of the model's outputs: a count (names 0..N-1) or comma-separated names.",
            Required = true,
        };
        var normalization = new Option<string>("--normalization")
        {
            Description = "The normalisation the model was trained with (applied inside the classifier from now on): cifar10, imagenet, none, or custom with --mean and --std.",
            Required = true,
        };
        normalization.AcceptOnlyFromAmong("cifar10", "imagenet", "none", "custom");
        var mean = new Option<string?>("--mean") { Description = "Per-channel means for --normalization custom, comma-separated." };
        var std = new Option<string?>("--std") { Description = "Per-channel standard deviations for --normalization custom, comma-separated." };
        var channels = new Option<int>("--channels") { Description = "Image channels.", DefaultValueFactory = _ => 3 };
        var imageSize = new Option<int>("--image-size") { Description = "The input size the model was trained at (pixels).", DefaultValueFactory = _ => 32 };
        var check = new Option<string?>("--check") { Description = "Class folders to measure the imported model's accuracy on (a wrong --normalization or class order shows here)." };
        var outPath = new Option<string>("--out") { Description = "The model file to write (safetensors with metadata).", Required = true };

        var command = new Command("import", "Bring a PyTorch model: load a state dict into a zoo architecture and save it as a model file the other commands read.")
        {
            weights, key, arch, width, depth, parameters, archSpec, classes, normalization, mean, std, channels, imageSize, check, outPath,
        };
        command.SetAction((parse, cancel) =>
        {
            string weightsPath = parse.GetValue(weights)!;
            if (!File.Exists(weightsPath)) throw new UsageException($"--weights file '{weightsPath}' does not exist.");
            var classNames = ParseClasses(parse.GetValue(classes)!);
            int channelCount = CommonOptions.InRange(parse, channels, 1, 4);
            int size = CommonOptions.InRange(parse, imageSize, 8, 1024);
            var spec = ReadSpec(parse, arch, width, depth, parameters, archSpec, classNames.Count, channelCount, size);
            var norm = ReadNormalization(parse.GetValue(normalization)!, parse.GetValue(mean), parse.GetValue(std), channelCount);

            var stateDict = StateDictFile.Read(weightsPath, parse.GetValue(key));
            Classifier classifier;
            try
            {
                classifier = CommonOptions.Usage(() => Classifier.FromStateDict(stateDict, spec, norm, classNames, families: models, source: weightsPath));
            }
            finally
            {
                foreach (var t in stateDict.Values) t.Dispose();
            }
            using (classifier)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Loaded {stateDict.Count} tensors from {weightsPath} ({StateDictFile.Format(weightsPath)}) into {spec.Architecture} ({classifier.ParameterCount:N0} parameters, {classNames.Count} classes, {size}x{size}x{channelCount})."));
                if (parse.GetValue(check) is string checkDir)
                {
                    var images = DataSources.ReadFolder(checkDir, error, size: size).AlignClasses(classifier.ClassNames);
                    var accuracy = new Evaluator().Evaluate(classifier, images, cancel);
                    AccuracyTable.Write(output, accuracy);
                }
                string outFile = parse.GetValue(outPath)!;
                classifier.Save(outFile);
                output.WriteLine($"Saved to {outFile}; every command reads it with --model {outFile}.");
            }
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    private static ModelSpec ReadSpec(ParseResult parse, Option<string?> arch, Option<int> width, Option<int> depth, Option<string[]> parameters,
        Option<string?> archSpec, int classes, int channels, int size)
    {
        if (parse.GetValue(archSpec) is string specFile)
        {
            if (parse.GetValue(arch) is not null || parse.GetResult(width) is { Implicit: false } || parse.GetResult(depth) is { Implicit: false })
                throw new UsageException("--spec gives the whole architecture; leave out --arch, --width and --depth.");
            return CommonOptions.ReadArchSpec(specFile, classes, channels, size);
        }
        string name = parse.GetValue(arch) ?? throw new UsageException("give the architecture the weights fit: --arch NAME or --spec FILE.json.");
        var spec = new ModelSpec(name, classes, CommonOptions.InRange(parse, width, 0), CommonOptions.InRange(parse, depth, 0), InputChannels: channels, ImageSize: size)
        {
            Parameters = ParseParameters(parse.GetValue(parameters) ?? []),
        };
        return CommonOptions.Usage(spec.Validate, "--arch");
    }

    /// <summary><c>NAME=VALUE</c> pairs as model parameters; a value that is not JSON is taken as a string.</summary>
    internal static ModelParameters ParseParameters(IEnumerable<string> pairs)
    {
        var json = new List<KeyValuePair<string, string>>();
        foreach (string pair in pairs)
        {
            int eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) throw new UsageException($"--param must be NAME=VALUE; got '{pair}'.");
            string name = pair[..eq].Trim(), value = pair[(eq + 1)..].Trim();
            json.Add(KeyValuePair.Create(name, IsJson(value) ? value : JsonSerializer.Serialize(value)));
        }
        return CommonOptions.Usage(() => ModelParameters.FromJson(json), "--param");
    }

    private static bool IsJson(string text)
    {
        try
        {
            using var _ = JsonDocument.Parse(text);
            return true;
        }
        catch (JsonException) { return false; }
    }

    /// <summary>A class count or comma-separated class names.</summary>
    internal static IReadOnlyList<string> ParseClasses(string text)
    {
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int count))
        {
            if (count < 2) throw new UsageException($"--classes must be >= 2 classes; got {count}.");
            return Enumerable.Range(0, count).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
        }
        var names = text.Split(',', StringSplitOptions.TrimEntries);
        if (names.Length < 2 || names.Any(string.IsNullOrEmpty))
            throw new UsageException($"--classes must be a count or at least two non-empty comma-separated names; got '{text}'.");
        var duplicate = names.GroupBy(n => n, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new UsageException($"--classes names '{duplicate.Key}' twice.");
        return names;
    }

    /// <summary>The normalisation named by <c>--normalization</c>, with <c>--mean</c>/<c>--std</c> for custom.</summary>
    internal static Normalization ReadNormalization(string name, string? mean, string? std, int channels)
    {
        if (name != "custom" && (mean is not null || std is not null))
            throw new UsageException("--mean and --std go with --normalization custom.");
        var normalization = name switch
        {
            "cifar10" => Normalization.Cifar10,
            "imagenet" => Normalization.ImageNet,
            "none" => Normalization.Identity(channels),
            _ => CommonOptions.Usage(() => new Normalization(
                Numbers(mean ?? throw new UsageException("--normalization custom needs --mean."), "--mean"),
                Numbers(std ?? throw new UsageException("--normalization custom needs --std."), "--std")), "--std"),
        };
        if (normalization.Channels != channels)
            throw new UsageException($"--normalization has {normalization.Channels} channels but --channels is {channels}.");
        return normalization;
    }

    private static float[] Numbers(string text, string option) => text.Split(',', StringSplitOptions.TrimEntries).Select(part =>
        float.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out float v) && float.IsFinite(v)
            ? v
            : throw new UsageException($"{option} must be comma-separated numbers; got '{text}'.")).ToArray();
}
