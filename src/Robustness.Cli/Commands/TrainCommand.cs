using Microsoft.Extensions.Logging;
using System.CommandLine;
using System.Globalization;
using Robustness.Cli.Output;
using Robustness.Data;
using Robustness.Models;
using Robustness.Training;

namespace Robustness.Cli.Commands;

/// <summary><c>robustness train</c>: trains a zoo model on class folders or the synthetic set, keeping checkpoints.</summary>
public static class TrainCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(TextWriter output, TextWriter error, ModelFamilyRegistry models, ILoggerFactory loggers)
    {
        var data = new Option<string?>("--data") { Description = "Training images in class folders (DIR/<class>/<image>)." };
        var test = new Option<string?>("--test") { Description = "Optional test images in class folders, evaluated after each epoch." };
        var synthetic = new Option<int?>("--synthetic")
        {
            Description = "Train on the embedded synthetic set instead of --data, with this many training images (default 5000).",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var arch = new Option<string>("--arch") { Description = $"Architecture: {string.Join(", ", models.Names)}.", DefaultValueFactory = _ => "small-cnn" };
        arch.AcceptOnlyFromAmong([.. models.Names]);
        var width = new Option<int>("--width") { Description = "Base width (0 = the architecture's standard width).", DefaultValueFactory = _ => 0 };
        var archSpec = CommonOptions.ArchSpecFile();
        var epochs = new Option<int>("--epochs") { Description = "Epochs.", DefaultValueFactory = _ => 10 };
        var batch = new Option<int>("--batch-size") { Description = "Images per step.", DefaultValueFactory = _ => 128 };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate.", DefaultValueFactory = _ => 0.1 };
        var schedule = new Option<string>("--schedule") { Description = "Learning-rate schedule: sep (warm-up, x0.1 at 62.5% and 75%), cosine, constant.", DefaultValueFactory = _ => "sep" };
        schedule.AcceptOnlyFromAmong("sep", "cosine", "constant");
        var augment = new Option<string>("--augment") { Description = "Augmentation: crop-flip (random crop, pad 4, and horizontal flip) or none.", DefaultValueFactory = _ => "crop-flip" };
        augment.AcceptOnlyFromAmong("crop-flip", "none");
        var normalization = new Option<string>("--normalization") { Description = "Input normalisation inside the model: dataset (training-set statistics), cifar10, none.", DefaultValueFactory = _ => "dataset" };
        normalization.AcceptOnlyFromAmong("dataset", "cifar10", "none");
        var checkpoints = new Option<string?>("--checkpoints") { Description = "Folder for checkpoints (safetensors + index); kept in memory when not given." };
        var every = new Option<int>("--checkpoint-every") { Description = "Keep a checkpoint every K epochs (0 = final only).", DefaultValueFactory = _ => 1 };
        var outPath = new Option<string>("--out") { Description = "Where to save the trained model (safetensors).", Required = true };
        var adversarial = new Option<string>("--adversarial") { Description = "Adversarial training: none, pgd (Madry PGD-AT) or trades (Zhang 2019, beta 6).", DefaultValueFactory = _ => "none" };
        adversarial.AcceptOnlyFromAmong("none", "pgd", "trades");
        var advSteps = new Option<int?>("--steps") { Description = "Inner PGD steps of adversarial training (default: 7 for pgd, 10 for trades)." };
        var imageSize = new Option<int?>("--image-size")
        {
            Description = "Stretch every image of --data and --test to N x N pixels (bilinear, anti-aliased when shrinking) before training, as a training pipeline's resize does; without it all images must share one size.",
        };
        var knobs = new AttackOptionsCli();
        var seed = CommonOptions.Seed();
        var device = CommonOptions.Device();
        var report = ReportFolder.Option("loss and accuracy curves, one row per epoch");

        var command = new Command("train", "Train a classifier and keep checkpoints (the source model of SEP).")
        {
            data, test, synthetic, imageSize, arch, width, archSpec, epochs, batch, lr, schedule, augment, normalization, checkpoints, every, outPath, seed, device,
            adversarial, advSteps, report,
        };
        knobs.AddTo(command, withAttackKnobs: false);
        command.SetAction((parse, cancel) =>
        {
            bool useSynthetic = parse.GetResult(synthetic) is not null;
            string? dataDir = parse.GetValue(data);
            if (useSynthetic == (dataDir is not null)) throw new UsageException("give exactly one of --data DIR and --synthetic [N].");
            int seedValue = CommonOptions.InRange(parse, seed, 0);
            int epochCount = CommonOptions.InRange(parse, epochs, 1, 100_000);
            int checkpointEvery = CommonOptions.InRange(parse, every, 0, 100_000);
            var deviceValue = CommonOptions.ResolveDevice(parse, device);
            var reportFolder = ReportFolder.From(parse, report, error);

            ImageSet trainSet;
            ImageSet? testSet;
            if (useSynthetic)
            {
                int count = parse.GetValue(synthetic) ?? 5000;
                if (count < 10) throw new UsageException($"--synthetic must be >= 10 images; got {count}.");
                var sets = SyntheticImageSet.TrainTest(count, Math.Max(10, count / 5), seedValue);
                (trainSet, testSet) = (sets.Train, sets.Test);
            }
            else
            {
                int? size = parse.GetValue(imageSize);
                if (size is < 8 or > 1024) throw new UsageException($"--image-size must be between 8 and 1024 pixels; got {size}.");
                trainSet = DataSources.ReadFolder(dataDir!, error, size);
                string? testDir = parse.GetValue(test);
                testSet = testDir is null ? null : DataSources.ReadFolder(testDir, error, size);
            }

            if (parse.GetValue(archSpec) is not null && (parse.GetResult(arch) is { Implicit: false } || parse.GetResult(width) is { Implicit: false }))
                throw new UsageException("--spec gives the whole architecture; leave out --arch and --width.");
            var spec = parse.GetValue(archSpec) is string specFile
                ? CommonOptions.ReadArchSpec(specFile, trainSet.ClassNames.Count, trainSet.Channels, trainSet.Height)
                : new ModelSpec(parse.GetValue(arch)!, trainSet.ClassNames.Count, CommonOptions.InRange(parse, width, 0),
                    InputChannels: trainSet.Channels, ImageSize: trainSet.Height);
            var norm = parse.GetValue(normalization) switch
            {
                "cifar10" => Normalization.Cifar10,
                "none" => Normalization.Identity(trainSet.Channels),
                _ => ChannelStatistics.Of(trainSet),
            };
            var options = new TrainingOptions
            {
                Epochs = epochCount,
                BatchSize = CommonOptions.InRange(parse, batch, 1),
                LearningRate = CommonOptions.Positive(parse, lr),
                Schedule = parse.GetValue(schedule) switch
                {
                    "constant" => LearningRateSchedules.Constant,
                    "cosine" => new CosineLearningRate(epochCount),
                    _ => LearningRateSchedules.Sep(epochCount),
                },
                Augmentation = parse.GetValue(augment) == "none" ? null : ComposedAugmentation.Cifar(),
                Checkpoints = checkpointEvery == 0 ? CheckpointSchedule.FinalOnly : CheckpointSchedule.Every(checkpointEvery, includeFinal: true),
                Seed = seedValue,
                Device = deviceValue,
            }.Validate();

            var objective = AdversarialObjective(parse.GetValue(adversarial)!, knobs.Read(parse, seedValue), parse.GetValue(advSteps));
            using var classifier = Classifier.Create(spec, norm, trainSet.ClassNames, deviceValue, seedValue, models);
            string? checkpointDir = parse.GetValue(checkpoints);
            // A --checkpoints folder keeps the training state beside the checkpoints, so a killed run started again with
            // the same command continues after its last checkpoint, exactly (plain cross-entropy training only).
            var resume = checkpointDir is not null && objective is null ? new TrainingResumeState(checkpointDir) : null;
            using var checkpointSet = OpenCheckpoints(checkpointDir, models, resume, options, trainSet.Count, classifier, output);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Training {spec.Architecture} ({classifier.ParameterCount:N0} parameters) on {trainSet.Count} images of {trainSet.ClassNames.Count} classes, {epochCount} epochs, objective {objective?.ToString() ?? "cross-entropy"}, device {deviceValue.type}."));
            var result = new TrainingProgressDisplay(output).Run("train", progress =>
                new Trainer(options, objective, loggers.CreateLogger<Trainer>()).Train(classifier, trainSet, testSet, checkpointSet, resume, progress, cancel));

            classifier.Save(parse.GetValue(outPath)!);
            var final = result.Final;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Done in {result.WallTime:hh\\:mm\\:ss}: train accuracy {final.TrainAccuracy:P1}{(final.Test is { } t ? $", test accuracy {t.Accuracy:P1}" : "")}; " +
                $"{checkpointSet.Count} checkpoint(s){(checkpointDir is null ? " (in memory, not kept)" : $" in {checkpointDir}")}; model saved to {parse.GetValue(outPath)}."));
            if (reportFolder is not null)
                output.WriteLine(TrainingReport.Write(reportFolder, new TrainingReport.TrainingDocument(Path.GetFullPath(parse.GetValue(outPath)!), spec.Architecture,
                    classifier.ParameterCount, trainSet.Count, testSet?.Count, objective?.ToString() ?? "cross-entropy", seedValue,
                    deviceValue.type.ToString().ToLowerInvariant(), result.WallTime.TotalSeconds, result.History)));
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    // The checkpoint folder: a new set, or the set of a killed run of this very command that can resume (same settings,
    // images and architecture, its state matching its last checkpoint). Anything else in the folder is refused as before.
    private static CheckpointSet OpenCheckpoints(string? folder, ModelFamilyRegistry models, TrainingResumeState? resume, TrainingOptions options,
        int images, Classifier classifier, TextWriter output)
    {
        if (folder is null) return CheckpointSet.InMemory();
        if (resume is not null && File.Exists(Path.Combine(folder, DiskCheckpointSet.IndexFileName)))
        {
            var existing = CheckpointSet.Open(folder, models);
            if (new Trainer(options).ResumableEpoch(resume, existing, images, classifier) is int after)
            {
                output.WriteLine($"Resuming after epoch {after + 1} of {options.Epochs} from the checkpoints and training state in {folder}.");
                return existing;
            }
            existing.Dispose();
        }
        try
        {
            return CheckpointSet.Create(folder, models);
        }
        catch (IOException e)
        {
            throw new UsageException($"--checkpoints: {ExceptionText.Of(e)} (it is not a killed run of this same command that could resume)");
        }
    }

    /// <summary>The training objective for <c>--adversarial</c>: null (plain cross-entropy), PGD-AT or TRADES.</summary>
    private static ITrainingObjective? AdversarialObjective(string kind, Attacks.AttackSettings settings, int? steps)
    {
        if (steps < 1) throw new UsageException($"--steps must be >= 1; got {steps}.");
        return kind switch
        {
            "pgd" => new PgdAdversarialObjective(PgdAdversarialObjective.MadryDefaults with
            {
                Epsilon = settings.EpsilonOrDefault, Norm = settings.Norm, Steps = steps ?? 7,
                StepSize = Attacks.PgdOptions.DefaultStepSize(settings.Norm, settings.EpsilonOrDefault),
            }),
            "trades" => new TradesObjective(new TradesOptions
            {
                Epsilon = settings.EpsilonOrDefault, Norm = settings.Norm, Steps = steps ?? 10,
                StepSize = Attacks.PgdOptions.DefaultStepSize(settings.Norm, settings.EpsilonOrDefault),
            }),
            _ => null,
        };
    }
}
