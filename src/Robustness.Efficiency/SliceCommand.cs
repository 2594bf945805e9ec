using System.CommandLine;
using System.Globalization;
using Robustness.Cli.Abstractions;
using Robustness.Data;
using Robustness.IO;
using Robustness.Hosting;
using Robustness.Models;

namespace Robustness.Efficiency;

/// <summary>
/// <c>robustness slice</c>: slices a saved CNN to a share of its channels (a smaller dense model), optionally fine-tunes
/// it, saves it, and prints the cost cards of the model before and after (parameters, MACs, measured latency, and clean
/// accuracy with --test).
/// </summary>
public static class SliceCommand
{
    /// <summary>The command, reading the host's model families and channel selectors through <paramref name="context"/>.</summary>
    public static Command Create(CommandContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var model = new Option<string>("--model") { Description = "The model to slice: an arch-spec model, or ResNet-18, VGG or WideResNet (safetensors with metadata).", Required = true };
        var outPath = new Option<string>("--out") { Description = "Where to save the sliced model (safetensors).", Required = true };
        var ratio = new Option<double>("--ratio") { Description = "Share of every channel group kept, in (0, 1]; 0.5 halves the widths.", DefaultValueFactory = _ => 0.5 };
        var selectors = context.Catalog.Names(ChannelSelectors.Family);
        var selector = new Option<string>("--selector") { Description = $"Which channels stay: {string.Join(", ", selectors)}.", DefaultValueFactory = _ => ChannelSelectors.L1Norm.Name };
        selector.AcceptOnlyFromAmong([.. selectors]);
        var data = new Option<string?>("--data") { Description = "Training images in class folders, for fine-tuning (needed with --epochs > 0)." };
        var test = new Option<string?>("--test") { Description = "Test images in class folders: clean accuracy before and after." };
        var epochs = new Option<int>("--epochs") { Description = "Fine-tuning epochs of the sliced model (clean cross-entropy, cosine learning rate).", DefaultValueFactory = _ => 0 };
        var lr = new Option<double>("--lr") { Description = "Fine-tuning peak learning rate.", DefaultValueFactory = _ => 0.01 };
        var batch = new Option<int>("--batch-size") { Description = "Fine-tuning images per step.", DefaultValueFactory = _ => 128 };
        var batchSizes = new Option<string>("--batch-sizes") { Description = "Batch sizes to time in the cost cards, comma-separated.", DefaultValueFactory = _ => "1,64" };
        var seed = new Option<int>("--seed") { Description = "Seed of the fine-tuning.", DefaultValueFactory = _ => 0 };
        var command = new Command("slice", "Slice a CNN to a share of its channels: a smaller dense model with its cost card before and after (efficiency module).")
        {
            model, outPath, ratio, selector, data, test, epochs, lr, batch, batchSizes, seed,
        };
        command.SetAction((parse, cancel) =>
        {
            string modelPath = parse.GetValue(model)!;
            if (!File.Exists(modelPath)) throw new ArgumentException($"--model file '{modelPath}' does not exist.");
            ChannelSlicingOptions options;
            try
            {
                options = new ChannelSlicingOptions
                {
                    Ratio = parse.GetValue(ratio), FineTuneEpochs = parse.GetValue(epochs), LearningRate = parse.GetValue(lr),
                    BatchSize = parse.GetValue(batch), Seed = parse.GetValue(seed),
                }.Validate();
            }
            catch (ArgumentOutOfRangeException e) { throw new ArgumentException($"--{Kebab(e.ParamName)}: {e.Message.Split(" (Parameter")[0]}", e); }
            if (options.FineTuneEpochs > 0 && parse.GetValue(data) is null) throw new ArgumentException("--epochs > 0 fine-tunes on --data; give --data DIR.");
            var sizes = parse.GetValue(batchSizes)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(s => int.TryParse(s, CultureInfo.InvariantCulture, out int b) && b >= 1 ? b : throw new ArgumentException($"--batch-sizes: '{s}' is not a whole number >= 1.")).ToArray();

            using var source = Classifier.Load(modelPath, families: context.Models);
            ImageSet? Read(string? folder) => folder is null ? null
                : ImageFolderReader.Read(folder, new ImageFolderOptions { Size = SizePolicy.Resize(source.Spec.ImageSize, source.Spec.ImageSize) })
                    .Images.AlignClasses(source.ClassNames);
            var train = Read(parse.GetValue(data));
            var testSet = Read(parse.GetValue(test));
            var definition = context.Catalog.Create(ChannelSelectors.Family, parse.GetValue(selector)!);

            SlicingResult result;
            try { result = new ChannelSlicer(options, definition).Slice(source, train, testSet, cancellationToken: cancel); }
            catch (ArgumentException e) when (e.ParamName == "classifier")
            {
                throw new ArgumentException($"--model: {e.Message.Split(" (Parameter")[0]}", e);
            }
            using var sliced = result.Sliced;
            sliced.Save(parse.GetValue(outPath)!);
            context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Kept {result.Kept.Kept:N0} of {result.Kept.Total:N0} channels ({result.Kept.KeptFraction:P1}, {definition.Name}) in {result.Kept.Parts.Count} groups; " +
                $"{(result.FineTuning is null ? "no fine-tuning" : $"fine-tuned {result.FineTuning.History.Count} epochs")} in {result.WallTime.TotalSeconds:F1} s."));

            var latency = new LatencyOptions { BatchSizes = sizes }.Validate();
            var cards = new[]
            {
                CostCard.For(source, latency, testSet, cancellationToken: cancel),
                CostCard.For(sliced, latency, testSet, cancellationToken: cancel),
            };
            context.Output.Write(CostCard.ToMarkdown(cards));
            context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Sliced: {(double)cards[0].Parameters / cards[1].Parameters:F2}x fewer parameters, {(double)cards[0].Macs / cards[1].Macs:F2}x fewer MACs. Saved to {parse.GetValue(outPath)}."));
            return Task.FromResult(0);
        });
        return command;
    }

    private static string Kebab(string? name) => name switch
    {
        nameof(ChannelSlicingOptions.FineTuneEpochs) => "epochs",
        nameof(ChannelSlicingOptions.LearningRate) => "lr",
        nameof(ChannelSlicingOptions.BatchSize) => "batch-size",
        _ => (name ?? "?").ToLowerInvariant(),
    };
}
