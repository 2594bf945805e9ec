using Robustness.Hosting;
using System.CommandLine;
using System.Globalization;
using Robustness.Attacks;
using Robustness.Cli.Output;
using Robustness.Data;
using Robustness.Models;
using Robustness.Protection;
using Robustness.Protection.Batch;
using Robustness.Training;

namespace Robustness.Cli.Commands;

/// <summary>
/// <c>robustness protect</c>: protects a folder of class folders into an output folder with a protector from the
/// catalogue (the protector family of <see cref="ITechniqueCatalog"/>), resumably and in shards (<see cref="FolderProtectionJob"/>).
/// </summary>
public static class ProtectCommand
{
    /// <summary>The method used when <c>--method</c> is not given.</summary>
    public const string DefaultMethod = "sep";

    /// <summary>Builds the command over <paramref name="protectors"/> (the catalogue's protector family).</summary>
    public static Command Create(TextWriter output, TextWriter error, IReadOnlyList<ProtectorDefinition> protectors, ModelFamilyRegistry models)
    {
        ArgumentNullException.ThrowIfNull(protectors);
        var input = new Option<string>("--input") { Description = "Clean images in class folders (DIR/<class>/.../<image>); never written to.", Required = true };
        var outputDir = new Option<string>("--output") { Description = "Output folder: the same relative paths as lossless PNG, plus .robustness/ (manifests, run.json). Must lie apart from --input.", Required = true };
        var eps = new Option<string>("--eps") { Description = "l-inf budget: 8/255, 0.0314 or 8px.", DefaultValueFactory = _ => "8/255" };
        var method = new Option<string>("--method") { Description = $"Protection method: {string.Join(", ", protectors.Select(d => d.Name))} (default {DefaultMethod}).", DefaultValueFactory = _ => DefaultMethod };
        method.AcceptOnlyFromAmong([.. protectors.Select(d => d.Name)]);
        var checkpoints = new Option<string?>("--checkpoints") { Description = "The source model's checkpoints, a folder written by 'robustness train --checkpoints' (methods that need checkpoints)." };
        var trainEpochs = new Option<int?>("--train-epochs") { Description = "Train the source model first (SEP recipe, a checkpoint every epoch) into <output>/.robustness/checkpoints; reused when complete. Not with --shard n>1." };
        var arch = new Option<string?>("--arch") { Description = $"Architecture of the model trained here: {string.Join(", ", models.Names)} (default small-cnn)." };
        arch.AcceptOnlyFromAmong([.. models.Names]);
        var width = new Option<int?>("--width") { Description = "Base width of the model trained here (0 = the architecture's standard width)." };
        var checkpointCount = new Option<int?>("--checkpoint-count") { Description = "Checkpoints K taken by SEP's selection rule (default: the method's)." };
        var iterations = new Option<int?>("--iterations") { Description = "SEP's iterations T over the checkpoint ensemble (default 30)." };
        var steps = new Option<int?>("--steps") { Description = "error-minimizing: PGD steps per round on each image's noise (default 20)." };
        var stepSize = new Option<string?>("--step-size") { Description = "Step size (default: the method's, 1/255 for SEP)." };
        var batchSize = new Option<int>("--batch-size") { Description = "Images per crafting batch (part of the run's settings).", DefaultValueFactory = _ => DataProtection.DefaultBatchSize };
        var shard = new Option<string>("--shard") { Description = "Protect only shard i of n (i/n, 0-based): batches k with k mod n == i. Shards share one output folder.", DefaultValueFactory = _ => "0/1" };
        var report = new Option<string?>("--report") { Description = "Write a Markdown report with example pictures (clean, protected, amplified delta) into this folder." };
        var minPsnr = new Option<double?>("--min-psnr")
        {
            Description = "Lowest acceptable PSNR in dB (e.g. 35): an image whose protected version would fall below it is reported as failed and not written, never weakened.",
        };
        var workSize = new Option<int?>("--work-size")
        {
            Description = $"Input size (pixels, square) of the source model trained with --train-epochs. Default: the images' size when they all share one square size, otherwise {WorkingSize.Default}. Images of other sizes are trained on stretched to it and protected at their own size.",
        };
        var eot = new Option<bool>("--eot")
        {
            Description = "SEP methods: craft through random resized crops and flips of each image (expectation over transforms), so the protection survives a trainer's augmentation and resizing.",
        };
        var memoryBudget = new Option<int>("--memory-budget")
        {
            Description = "MiB that the images of one crafting call may take: a batch of large photos is crafted in chunks that fit (one image at least).",
            DefaultValueFactory = _ => (int)(FolderProtectionOptions.DefaultMemoryBudget >> 20),
        };
        var verify = new Option<bool>("--verify")
        {
            Description = "After the run, check the whole output folder as 'robustness verify' does (every readable input has its output, each decodes, has the input's size, is within the budget and matches its manifest); exit code 1 when it fails. Not with --shard n>1: verify once all shards are done.",
        };
        var seed = CommonOptions.Seed();
        var device = CommonOptions.Device();

        var command = new Command("protect",
            "Protect a folder of labelled images (class folders) so that models trained on it generalise badly. " +
            "SEP methods and random noise protect images of any size at their own size (SEP crafts through the source model's resized view); " +
            "error-minimizing needs every image at one size. Unreadable files and links out of the input are per-file errors. Resumable: run it again to finish an interrupted run.")
        {
            input, outputDir, eps, method, checkpoints, trainEpochs, arch, width, workSize, checkpointCount, iterations, steps, stepSize, eot, batchSize, shard, seed, device,
            memoryBudget, report, minPsnr, verify,
        };
        command.SetAction((parse, cancel) =>
        {
            string inputRoot = parse.GetValue(input)!, outputRoot = Path.GetFullPath(parse.GetValue(outputDir)!);
            double epsilon = CommonOptions.Usage(() => Budget.CheckImageLinf(ParseBudget(parse.GetValue(eps)!, "--eps"), "--eps"), "--eps");
            if (epsilon == 0) throw new UsageException("--eps must be above 0: a zero budget would copy the images unprotected.");
            double? floor = ReadMinPsnr(parse.GetValue(minPsnr));
            var definition = Lookup(protectors, parse.GetValue(method)!);
            Shard part;
            try { part = Shard.Parse(parse.GetValue(shard)!); }
            catch (Exception e) when (e is FormatException or ArgumentOutOfRangeException) { throw new UsageException($"--shard: {ExceptionText.Of(e)}"); }
            bool verifyAfter = parse.GetValue(verify);
            if (verifyAfter && part.Count > 1)
                throw new UsageException("--verify checks the whole output folder, which other shards are still writing: run 'robustness verify' once every shard is done.");
            int batch = CommonOptions.InRange(parse, batchSize, 1, 1_000_000);
            int seedValue = CommonOptions.InRange(parse, seed, 0);
            int? k = Positive(parse.GetValue(checkpointCount), "--checkpoint-count");
            int? t = Positive(parse.GetValue(iterations), "--iterations");
            int? pgdSteps = Positive(parse.GetValue(steps), "--steps");
            double? step = parse.GetValue(stepSize) is { } s ? ParseBudget(s, "--step-size") : null;
            if (step is <= 0) throw new UsageException("--step-size must be > 0.");
            int? epochs = Positive(parse.GetValue(trainEpochs), "--train-epochs");
            int? work = parse.GetValue(workSize);
            if (work is { } w && (w < WorkingSize.Minimum || w > WorkingSize.Maximum))
                throw new UsageException($"--work-size must be between {WorkingSize.Minimum} and {WorkingSize.Maximum} pixels; got {w}.");
            if (work is not null && epochs is null)
                throw new UsageException("--work-size is the input size of the model trained with --train-epochs; checkpoints from --checkpoints carry their own.");
            long budget = (long)CommonOptions.InRange(parse, memoryBudget, 64, 1 << 30) << 20;
            string? checkpointDir = parse.GetValue(checkpoints);
            var deviceValue = CommonOptions.ResolveDevice(parse, device);
            if (!Directory.Exists(inputRoot)) throw new UsageException($"--input folder '{inputRoot}' does not exist.");
            try { OutputLayout.CheckApart(inputRoot, outputRoot); }
            catch (ArgumentException e) { throw new UsageException($"--output: {ExceptionText.Of(e)}"); }

            if (definition.NeedsCheckpoints)
            {
                if ((checkpointDir is null) == (epochs is null))
                    throw new UsageException($"--method {definition.Name} needs the source model's checkpoints: give exactly one of --checkpoints DIR and --train-epochs N.");
                if (epochs is not null && part.Count > 1)
                    throw new UsageException("--train-epochs cannot be used with --shard n>1 (each shard would train its own model): train once with 'robustness train --checkpoints DIR', then give every shard --checkpoints DIR.");
            }
            else if (checkpointDir is not null || epochs is not null)
            {
                throw new UsageException($"--method {definition.Name} does not use checkpoints; leave out --checkpoints and --train-epochs.");
            }
            if (epochs is null && definition.NeedsCheckpoints && (parse.GetValue(arch) is not null || parse.GetValue(width) is not null))
                throw new UsageException("--arch and --width describe the model trained with --train-epochs; checkpoints from --checkpoints carry their own.");

            var index = ImageFolderIndex.Scan(inputRoot);
            IReadOnlyList<int> epochList = epochs is int n ? Enumerable.Range(0, n).ToArray() : [];
            CheckpointSet? checkpointSet = null;
            try
            {
                if (checkpointDir is not null)
                {
                    if (!Directory.Exists(checkpointDir)) throw new UsageException($"--checkpoints folder '{checkpointDir}' does not exist.");
                    checkpointSet = CheckpointSet.Open(checkpointDir, models);
                    epochList = checkpointSet.Epochs;
                }
                // --arch and --width describe the model the run trains: the source model (--train-epochs) or, for a
                // method without checkpoints, its surrogate.
                string architecture = parse.GetValue(arch) ?? "small-cnn";
                int widthValue = parse.GetValue(width) ?? 0;
                int sourceSize = epochs is null ? 0 : work ?? WorkingSize.Choose(index.Files);
                ModelSpec? sourceModel = epochs is null ? null : new ModelSpec(architecture, index.ClassNames.Count, widthValue, ImageSize: sourceSize);
                ModelSpec? surrogate = null;
                if (!definition.NeedsCheckpoints && (parse.GetValue(arch) is not null || parse.GetValue(width) is not null))
                    surrogate = new ModelSpec(architecture, index.ClassNames.Count, widthValue, RgbImage.ChannelCount, StreamedImageFolder.Open(inputRoot).Height);
                var protectorSettings = new ProtectorSettings
                {
                    Epsilon = epsilon, Iterations = t, Steps = pgdSteps, StepSize = step, CheckpointCount = k, SurrogateSpec = surrogate, Families = models,
                    Device = deviceValue, Seed = seedValue, ExpectationOverTransforms = parse.GetValue(eot),
                };
                // A knob the method does not read is said, not silently dropped (checkpoints are checked above).
                foreach (string knob in definition.Ignored(protectorSettings))
                    error.WriteLine($"warning: {definition.Name} does not read {KnobOption(knob)}; it is ignored.");
                // run.json comes from the settings the protector is built from. Before any training: a folder written
                // with other settings is refused at once.
                var settings = ProtectionRunSettings.For(definition.Name, protectorSettings, batch, epochList, sourceModel);
                try { settings.WriteOrCheck(outputRoot); }
                catch (InvalidOperationException e) { throw new UsageException(ExceptionText.Of(e)); }

                if (epochs is int count)
                    checkpointSet = SourceTraining.TrainOrReuse(inputRoot, outputRoot, count, architecture, widthValue, sourceSize, seedValue, deviceValue, output, error, cancel, models);

                (int, int)? imageSize = null;
                if (checkpointSet is not null)
                {
                    using var model = checkpointSet.Load(checkpointSet.Epochs[^1]);
                    imageSize = (model.Spec.ImageSize, model.Spec.ImageSize);
                    if (!model.ClassNames.SequenceEqual(index.ClassNames, StringComparer.Ordinal))
                        throw new UsageException($"The checkpoints were trained on classes [{string.Join(", ", model.ClassNames)}] but --input has [{string.Join(", ", index.ClassNames)}]; labels would not match.");
                }

                var protector = definition.Build(protectorSettings with { Checkpoints = checkpointSet });
                // SEP's protectors own the checkpoints they loaded (native memory): release them when the run ends.
                using var ownedProtector = protector as IDisposable;
                var job = new FolderProtectionJob(protector, new FolderProtectionOptions
                {
                    InputRoot = inputRoot, OutputRoot = outputRoot, BatchSize = batch, Shard = part, Device = deviceValue,
                    ImageSize = imageSize, Settings = settings, MinPsnr = floor, MemoryBudget = budget,
                });
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Protecting {index.Files.Count} files of {index.ClassNames.Count} classes with {definition.Name}, eps {Budget.Format(epsilon)}, batch {batch}, shard {part}, device {deviceValue.type}, into {outputRoot}."));
                var result = new ProtectionProgressDisplay(output).Run(progress => job.Run(progress, cancel));
                WriteSummary(output, result, hasModel: checkpointSet is not null);
                if (parse.GetValue(report) is { } reportDir)
                {
                    string markdown = ProtectionReport.Write(reportDir, inputRoot, outputRoot, result);
                    output.WriteLine($"Report: {markdown} and {HtmlReport.Write(markdown)}");
                }
                bool verified = true;
                if (verifyAfter)
                {
                    output.WriteLine("Verifying the output folder:");
                    var check = ProtectedFolderVerifier.Verify(inputRoot, outputRoot, epsilon, cancellationToken: cancel);
                    VerifyCommand.Write(output, check);
                    verified = check.Passed;
                }
                return Task.FromResult(result.Failed == 0 && verified ? ExitCodes.Success : ExitCodes.Failure);
            }
            finally
            {
                checkpointSet?.Dispose();
            }
        });
        return command;
    }

    /// <summary>Parses a budget option, turning a bad value into a usage error naming <paramref name="option"/>.</summary>
    public static double ParseBudget(string text, string option) => CommonOptions.Usage(() => Budget.Parse(text, option), option);

    private static ProtectorDefinition Lookup(IReadOnlyList<ProtectorDefinition> catalogue, string name) =>
        catalogue.FirstOrDefault(d => string.Equals(d.Name, name.Trim(), StringComparison.OrdinalIgnoreCase))
        ?? throw new UsageException($"--method: unknown method '{name}'; known: {string.Join(", ", catalogue.Select(d => d.Name))}.");

    private static string KnobOption(string knob) => knob switch
    {
        nameof(ProtectorSettings.Iterations) => "--iterations",
        nameof(ProtectorSettings.Steps) => "--steps",
        nameof(ProtectorSettings.StepSize) => "--step-size",
        nameof(ProtectorSettings.CheckpointCount) => "--checkpoint-count",
        nameof(ProtectorSettings.SurrogateSpec) => "--arch/--width",
        nameof(ProtectorSettings.ExpectationOverTransforms) => "--eot",
        _ => knob,
    };

    private static int? Positive(int? value, string option) =>
        value is < 1 ? throw new UsageException($"{option} must be >= 1; got {value}.") : value;

    private static double? ReadMinPsnr(double? value) =>
        value is double v && (!double.IsFinite(v) || v <= 0) ? throw new UsageException($"--min-psnr must be a positive number of dB (e.g. 35); got {v}.") : value;

    private static string SizesText(FolderProtectionResult r, bool hasModel)
    {
        if (!r.AnySize || r.Sizes.Count == 0) return $"images {r.ImageSize.Height}x{r.ImageSize.Width}";
        string sizes = string.Join(", ", r.Sizes.Take(3).Select(s => $"{s.Size.Height}x{s.Size.Width} ({s.Count})"));
        return $"{r.Sizes.Count} image size(s), each kept: {sizes}{(r.Sizes.Count > 3 ? ", ..." : "")}" +
            (hasModel ? $"; model view {r.ImageSize.Height}x{r.ImageSize.Width}" : "");
    }

    private static void WriteSummary(TextWriter output, FolderProtectionResult r, bool hasModel)
    {
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Done in {r.WallTime:hh\\:mm\\:ss}: {r.Protected} protected, {r.AlreadyDone} skipped as already done, {r.Failed} failed, " +
            $"{r.ConvertedToPng.Count} converted to .png, of {r.ShardFiles} file(s) in this shard ({r.ListedFiles} listed); {r.ImagesPerSecond:F1} img/s; {SizesText(r, hasModel)}."));
        if (r.Quality is { } quality) output.WriteLine($"Visibility of what this run wrote: {quality}.");
        if (r.RemovedTempFiles > 0) output.WriteLine($"Removed {r.RemovedTempFiles} temporary file(s) left by an interrupted run.");
        if (r.IgnoredFiles.Count > 0) output.WriteLine($"Ignored {r.IgnoredFiles.Count} file(s) that are not images in class folders (e.g. {r.IgnoredFiles[0]}).");
        foreach (var e in r.Errors) output.WriteLine($"failed: {e.Input}: {e.Error}");
    }
}

/// <summary>Trains the source model of SEP on the input folder, keeping a checkpoint every epoch, or reuses a complete earlier set.</summary>
public static class SourceTraining
{
    /// <summary>
    /// Opens the run's checkpoint folder (<see cref="OutputLayout.CheckpointFolder"/>) when it holds all
    /// <paramref name="epochs"/> checkpoints of an earlier run; otherwise trains (SEP recipe, crop-flip augmentation) from
    /// scratch into it, replacing an incomplete set, on exactly the files the protection run will protect (the same
    /// scan: files it refuses, such as links out of the input, are not trained on either). The model takes
    /// <paramref name="workSize"/> x <paramref name="workSize"/> images; images of another size are trained on
    /// stretched to it (bilinear, anti-aliased), the view SEP crafts them through.
    /// </summary>
    public static CheckpointSet TrainOrReuse(string inputRoot, string outputRoot, int epochs, string architecture, int width, int workSize, int seed,
        TorchSharp.torch.Device device, TextWriter output, TextWriter error, CancellationToken cancel, ModelFamilyRegistry? models = null)
    {
        string folder = OutputLayout.CheckpointFolder(outputRoot);
        CheckpointSet? partial = null;
        if (File.Exists(Path.Combine(folder, DiskCheckpointSet.IndexFileName)))
        {
            var existing = CheckpointSet.Open(folder, models);
            if (existing.Epochs.SequenceEqual(Enumerable.Range(0, epochs)))
            {
                output.WriteLine($"Reusing the {epochs} checkpoints in {folder}.");
                return existing;
            }
            // A killed training run: it continues after its last checkpoint when the state saved beside it is of this
            // very run (the trainer checks the fingerprint); otherwise the folder is replaced.
            if (File.Exists(Path.Combine(folder, TrainingResumeState.StateFileName)) && existing.Count > 0 && existing.Epochs.SequenceEqual(Enumerable.Range(0, existing.Count)))
            {
                partial = existing;
            }
            else
            {
                existing.Dispose();
                output.WriteLine($"Replacing the incomplete checkpoints in {folder}.");
                Directory.Delete(folder, recursive: true);
            }
        }
        else if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }
        var scan = InputFolderScan.Run(inputRoot, outputRoot, (workSize, workSize), ImageFileReader.DefaultMaxPixels, cancellationToken: cancel, anySize: true);
        foreach (var refused in scan.Files.Where(f => !f.Readable))
            error.WriteLine($"warning: not training on {refused.Entry.RelativePath}: {refused.Error}");
        var readable = scan.Readable();
        if (readable.Count == 0)
            throw new InvalidDataException($"'{inputRoot}' holds no readable image in class folders (expected {inputRoot}/<class>/<image>).");
        var images = ImageSet.From(readable);
        var spec = new ModelSpec(architecture, images.ClassNames.Count, width, InputChannels: images.Channels, ImageSize: images.Height);
        var recipe = SourceModelRecipe.ForSep(spec, epochs) with { Seed = seed, Device = device };
        using var classifier = recipe.CreateModel(images, models);
        var resume = new TrainingResumeState(folder);
        if (partial is not null && new Trainer(recipe.EffectiveTraining).ResumableEpoch(resume, partial, images.Count, classifier) is null)
        {
            // The saved state belongs to other settings or images: start again.
            partial.Dispose();
            partial = null;
            output.WriteLine($"Replacing the incomplete checkpoints in {folder} (they were trained with other settings or images).");
            Directory.Delete(folder, recursive: true);
        }
        else if (partial is not null)
        {
            output.WriteLine($"Resuming the source model's training after epoch {partial.Count} of {epochs} (checkpoints and training state in {folder}).");
        }
        var set = partial ?? CheckpointSet.Create(folder, models);
        try
        {
            new TrainingProgressDisplay(output).Run(
                $"Training the source model ({spec.Architecture}, {classifier.ParameterCount:N0} parameters, {epochs} epochs, a checkpoint each) on {images.Count} images",
                progress => recipe.Train(classifier, images, null, set, progress, cancel, resume));
        }
        catch
        {
            set.Dispose();
            throw;
        }
        return set;
    }
}
