using System.Globalization;
using System.Text;
using Robustness.Attacks;
using Robustness.Cli.Output;
using Robustness.Data;
using Robustness.Models;
using Robustness.Protection;
using Robustness.Protection.Batch;
using Robustness.Training;
using static TorchSharp.torch;

namespace Robustness.Cli.Commands;

/// <summary>Settings of the protection part of <c>robustness demo</c>.</summary>
/// <param name="Epsilon">l-inf budget of the protection.</param>
/// <param name="CheckpointCount">K checkpoints taken by SEP's selection rule.</param>
/// <param name="Iterations">SEP iterations T.</param>
/// <param name="VictimEpochs">Epochs each victim trains (the source model's recipe).</param>
/// <param name="Seed">Seed of protection and victims.</param>
/// <param name="Device">Where everything runs.</param>
/// <param name="Variant">SEP, SEP-FA or SEP-FA-VR.</param>
public sealed record ProtectionDemoSettings(double Epsilon, int CheckpointCount, int Iterations, int VictimEpochs, int Seed, Device Device,
    SepVariant Variant = SepVariant.Sep);

/// <summary>What the protection part of the demo measured.</summary>
/// <param name="Method">The protection method (sep).</param>
/// <param name="Epsilon">Budget, as text.</param>
/// <param name="CheckpointEpochs">The checkpoints SEP used.</param>
/// <param name="Iterations">SEP iterations.</param>
/// <param name="ProtectSeconds">Wall time of SEP's protection of the training folder.</param>
/// <param name="ProtectImagesPerSecond">SEP's throughput.</param>
/// <param name="CleanVictimAccuracy">Clean test accuracy of a victim trained on the clean training folder.</param>
/// <param name="RandomNoiseVictimAccuracy">The same for a victim trained on the random +-eps baseline.</param>
/// <param name="SepVictimAccuracy">The same for a victim trained on the SEP-protected folder.</param>
/// <param name="Report">Path of the Markdown report.</param>
public sealed record ProtectionDemoResult(string Method, string Epsilon, IReadOnlyList<int> CheckpointEpochs, int Iterations,
    double ProtectSeconds, double ProtectImagesPerSecond, double CleanVictimAccuracy, double RandomNoiseVictimAccuracy,
    double SepVictimAccuracy, string Report);

/// <summary>
/// The protection part of <c>robustness demo</c>, the main job end to end as a user meets it: the clean training set
/// lies as class folders on disk; SEP protects it with the batch tool's engine (<see cref="FolderProtectionJob"/>, the
/// same code as <c>robustness protect</c>), the random-noise baseline likewise; fresh victims train on the folders read
/// back from disk (clean, random, SEP) and are tested on clean test images; a report with pictures and a chart is written.
/// </summary>
public static class ProtectionDemo
{
    /// <summary>Runs the part. <paramref name="cleanTrainFolder"/> holds the clean training images as class folders.</summary>
    public static ProtectionDemoResult Run(string folder, string cleanTrainFolder, ImageSet cleanTest, CheckpointSet checkpoints,
        ModelSpec victimSpec, ProtectionDemoSettings settings, TextWriter output, CancellationToken cancellationToken)
    {
        var ci = CultureInfo.InvariantCulture;
        string sepFolder = Path.Combine(folder, "protected-sep");
        string randomFolder = Path.Combine(folder, "protected-random");

        // Step 3: protect the training folder, SEP and the random baseline, with the batch tool's engine.
        using var sep = SelfEnsembleProtection.FromCheckpoints(checkpoints, Math.Min(settings.CheckpointCount, checkpoints.Count),
            new SepOptions { Epsilon = settings.Epsilon, Iterations = settings.Iterations, Seed = settings.Seed, Variant = settings.Variant }, settings.Device);
        var sepRun = Protect(sep, cleanTrainFolder, sepFolder, checkpoints, sep.SelectedEpochs, settings, output,
            string.Create(ci, $"Step 3/4: protect the training folder with {sep.Name} (K = {sep.CheckpointCount}, epochs {string.Join(", ", sep.SelectedEpochs ?? [])}; T = {settings.Iterations}, eps {Budget.Format(settings.Epsilon)})"),
            cancellationToken);
        var random = new RandomNoiseProtector(new RandomNoiseOptions { Epsilon = settings.Epsilon, Seed = settings.Seed });
        Protect(random, cleanTrainFolder, randomFolder, null, null, settings, output, "        and with random +-eps noise (the baseline)", cancellationToken);

        // Step 4: victims trained on what is on disk, tested on clean images.
        var clean = ReadFolder(cleanTrainFolder, cleanTest.ClassNames);
        var sepSet = ReadFolder(sepFolder, cleanTest.ClassNames);
        var randomSet = ReadFolder(randomFolder, cleanTest.ClassNames);
        var recipe = VictimRecipe.ForSep(victimSpec, settings.VictimEpochs) with
        {
            Normalization = ChannelStatistics.Of(clean),
            Seed = settings.Seed + 1,
            Device = settings.Device,
        };
        var evaluation = new ProtectionEvaluation(recipe);
        var display = new TrainingProgressDisplay(output);
        var sepVictim = display.Run("Step 4/4: train a victim on the SEP-protected folder", p => evaluation.TrainVictimAndTest(sepSet, cleanTest, p, cancellationToken));
        var randomVictim = display.Run("        a victim on the random-noise folder", p => evaluation.TrainVictimAndTest(randomSet, cleanTest, p, cancellationToken));
        var cleanVictim = display.Run("        a victim on the clean folder", p => evaluation.TrainVictimAndTest(clean, cleanTest, p, cancellationToken));

        output.WriteLine();
        output.WriteLine(string.Create(ci, $"Victims ({recipe.Summary()}), clean test accuracy on {cleanTest.Count} images:"));
        output.WriteLine(string.Create(ci, $"  trained on clean images            {cleanVictim.TestAccuracy,7:P1}"));
        output.WriteLine(string.Create(ci, $"  trained on random +-eps noise      {randomVictim.TestAccuracy,7:P1}"));
        output.WriteLine(string.Create(ci, $"  trained on {sep.Name}-protected images {sepVictim.TestAccuracy,7:P1}"));

        // The report: the SEP folder's pictures and settings, plus the victims' table and chart.
        string reportFolder = Path.Combine(folder, "report");
        Directory.CreateDirectory(reportFolder);
        AccuracyBarChart.Write(Path.Combine(reportFolder, "victim-accuracy.png"), "Victim test accuracy",
            [("clean", cleanVictim.TestAccuracy), ("random noise", randomVictim.TestAccuracy), (sep.Name, sepVictim.TestAccuracy)]);
        var md = new StringBuilder();
        md.AppendLine("## Victims").AppendLine();
        md.AppendLine(ci, $"Each victim is a fresh model ({recipe.Summary()}) trained on one folder with its true labels, then tested on {cleanTest.Count} clean test images.").AppendLine();
        md.AppendLine("| training data | clean test accuracy |").AppendLine("| --- | --- |");
        md.AppendLine(ci, $"| clean | {cleanVictim.TestAccuracy:P1} |");
        md.AppendLine(ci, $"| random +-eps noise | {randomVictim.TestAccuracy:P1} |");
        md.AppendLine(ci, $"| {sep.Name} | {sepVictim.TestAccuracy:P1} |").AppendLine();
        md.AppendLine("![victim accuracy](victim-accuracy.png)");
        string reportPath = ProtectionReport.Write(reportFolder, cleanTrainFolder, sepFolder, sepRun, md.ToString());
        output.WriteLine($"Protection report: {reportPath} and {HtmlReport.Write(reportPath)}");

        return new ProtectionDemoResult(sep.Name, Budget.Format(settings.Epsilon), sep.SelectedEpochs ?? [], settings.Iterations,
            sepRun.WallTime.TotalSeconds, sepRun.ImagesPerSecond, cleanVictim.TestAccuracy, randomVictim.TestAccuracy, sepVictim.TestAccuracy, reportPath);
    }

    private static FolderProtectionResult Protect(IDataProtector protector, string input, string outputRoot, CheckpointSet? checkpoints,
        IReadOnlyList<int>? usedEpochs, ProtectionDemoSettings settings, TextWriter output, string title, CancellationToken cancellationToken)
    {
        var knobs = new ProtectorSettings
        {
            Epsilon = settings.Epsilon, Iterations = checkpoints is null ? null : settings.Iterations, CheckpointCount = usedEpochs?.Count, Seed = settings.Seed,
        };
        var runSettings = ProtectionRunSettings.For(protector.Name, knobs, DataProtection.DefaultBatchSize, checkpoints?.Epochs);
        runSettings.WriteOrCheck(outputRoot);
        var job = new FolderProtectionJob(protector, new FolderProtectionOptions
        {
            InputRoot = input, OutputRoot = outputRoot, Device = settings.Device, Settings = runSettings,
        });
        output.WriteLine(title);
        var result = new ProtectionProgressDisplay(output).Run(progress => job.Run(progress, cancellationToken));
        if (result.Failed > 0)
            throw new InvalidOperationException($"{result.Failed} demo images failed to protect: {result.Errors[0].Input}: {result.Errors[0].Error}");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"        {result.Protected} images protected in {result.WallTime:mm\\:ss} ({result.ImagesPerSecond:F1} img/s) into {outputRoot}"));
        return result;
    }

    private static ImageSet ReadFolder(string root, IReadOnlyList<string> classNames)
    {
        var read = ImageFolderReader.Read(root, new ImageFolderOptions { Strict = true });
        return read.Images.AlignClasses(classNames);
    }
}
