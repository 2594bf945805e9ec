// Sample: protect a folder of images from code, as `robustness protect` does, with the batch engine
// (FolderProtectionJob): train a source model on the folder keeping a checkpoint per epoch (Trainer + CheckpointSet),
// build Self-Ensemble Protection from those checkpoints, write run.json (ProtectionRunSettings), protect every image
// into the output folder (lossless PNG, each file written atomically, a manifest line per file), print progress
// (IProgress<ProtectionProgress>), stop cleanly on Ctrl+C, and finally check the output with ProtectedFolderVerifier.
//
// Usage:
//   dotnet run -c Release --project samples/ProtectFolder -- INPUT_DIR OUTPUT_DIR [--epochs N]
//     INPUT_DIR holds class folders (INPUT_DIR/<class>/<image>), all images square and of one size (e.g. CIFAR-10's
//     32x32). The real-sized job: a ResNet-18 (width 16) trained for N = 30 epochs with SEP's recipe (crop + flip), its
//     checkpoints kept in OUTPUT_DIR/.robustness/checkpoints (reused when the run is started again), then SEP with
//     K = 5 checkpoints, T = 30 steps, eps 8/255. Tens of minutes to hours on a CPU for CIFAR-10-sized folders.
//     Ctrl+C stops between files (exit code 130); run the same command again and it resumes where it stopped.
//   dotnet run -c Release --project samples/ProtectFolder -- --smoke
//     Writes 40 synthetic 16x16 images (4 classes) to a temporary folder with PngImageWriter and protects them with a
//     tiny SmallCnn (width 4, 2 epochs, K = 2, T = 5): a few seconds.
// Exit codes: 0 every file protected and verified, 1 some file failed or verification found a problem, 2 bad arguments,
// 130 cancelled.
using System.Globalization;
using Robustness;
using Robustness.Attacks;
using Robustness.Data;
using Robustness.Models;
using Robustness.Protection;
using Robustness.Protection.Batch;
using Robustness.Training;

var ci = CultureInfo.InvariantCulture;
bool smoke = args.Contains("--smoke");
string inputRoot, outputRoot;
int epochs = 30, checkpointCount = 5, iterations = 30, width = 16, seed = 0;
string architecture = "resnet18";
string? smokeFolder = null;
double epsilon = Budget.Parse("8/255");
if (smoke)
{
    smokeFolder = Directory.CreateTempSubdirectory("robustness-protect-folder-").FullName;
    inputRoot = Path.Combine(smokeFolder, "photos");
    outputRoot = Path.Combine(smokeFolder, "protected");
    // The "photos": synthetic class folders photos/<class>/<index>.png, written losslessly and atomically.
    PngImageWriter.Write(SyntheticImageSet.Generate(count: 40, seed: 0, size: 16, classes: 4), inputRoot);
    // Tiny tensors: one libtorch thread is fastest and keeps the run short on a busy machine (after the library's
    // first call, so its kernel guard has set oneDNN up).
    TorchSharp.torch.set_num_threads(1);
    (architecture, width, epochs, checkpointCount, iterations) = ("small-cnn", 4, 2, 2, 5);
}
else
{
    var positional = new List<string>();
    for (int i = 0; i < args.Length; i++)
    {
        if (args[i] == "--epochs" && i + 1 < args.Length && int.TryParse(args[i + 1], ci, out int n) && n >= 1) { epochs = n; i++; }
        else if (args[i].StartsWith("--", StringComparison.Ordinal)) return Usage($"unknown option {args[i]}");
        else positional.Add(args[i]);
    }
    if (positional.Count != 2) return Usage("give INPUT_DIR and OUTPUT_DIR, or --smoke");
    (inputRoot, outputRoot) = (positional[0], positional[1]);
    if (!Directory.Exists(inputRoot)) return Usage($"input folder '{inputRoot}' does not exist");
    try
    {
        OutputLayout.CheckApart(inputRoot, outputRoot); // the input is never written: the output may not be in it, nor hold it
    }
    catch (ArgumentException e)
    {
        return Usage(e.Message);
    }
    checkpointCount = Math.Min(checkpointCount, epochs);
}

// Ctrl+C cancels the token instead of killing the process: the job stops between files, every file already written
// is complete (atomic writes) and recorded in the manifest, so the next run resumes.
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    if (cancel.IsCancellationRequested) return; // a second Ctrl+C ends the process at once
    e.Cancel = true;
    Console.Error.WriteLine("Cancelling (Ctrl+C again to quit at once) ...");
    cancel.Cancel();
};

try
{
    // Step 1: the source model, trained on the folder, a checkpoint after every epoch (SEP's recipe).
    string checkpointFolder = OutputLayout.CheckpointFolder(outputRoot);
    using var checkpoints = TrainOrReuse(inputRoot, checkpointFolder, architecture, width, epochs, seed, cancel.Token);

    // Step 2: SEP from the checkpoints (K by SEP's selection rule), and the settings that decide the output's bytes.
    var knobs = new ProtectorSettings { Epsilon = epsilon, Iterations = iterations, CheckpointCount = checkpointCount, Seed = seed };
    using var sep = SelfEnsembleProtection.FromCheckpoints(checkpoints, checkpointCount,
        new SepOptions { Epsilon = epsilon, Iterations = iterations, Variant = SepVariant.Sep, Seed = seed });
    var runSettings = ProtectionRunSettings.For(sep.Name, knobs, DataProtection.DefaultBatchSize, checkpoints.Epochs);
    try
    {
        runSettings.WriteOrCheck(outputRoot); // refuses an output folder that another run wrote with other settings
    }
    catch (InvalidOperationException e)
    {
        return Usage(e.Message);
    }

    // Step 3: protect the folder. Every image must have the size the source model was trained on.
    using var model = checkpoints.Load(checkpoints.Epochs[^1]);
    var job = new FolderProtectionJob(sep, new FolderProtectionOptions
    {
        InputRoot = inputRoot,
        OutputRoot = outputRoot,
        Settings = runSettings,
        ImageSize = (model.Spec.ImageSize, model.Spec.ImageSize),
    });
    Console.WriteLine(string.Create(ci,
        $"Protecting {inputRoot} -> {outputRoot} with {sep.Name} (K = {sep.CheckpointCount}, epochs {string.Join(", ", sep.SelectedEpochs ?? [])}; T = {iterations}; eps {Budget.Format(epsilon)})"));
    var result = job.Run(new ConsoleProgress(), cancel.Token);
    Console.WriteLine(string.Create(ci,
        $"{result.Protected} protected, {result.AlreadyDone} already done, {result.Failed} failed, of {result.ListedFiles} images ({result.ImageSize.Height}x{result.ImageSize.Width}) in {result.WallTime:mm\\:ss} ({result.ImagesPerSecond:F1} img/s)"));
    foreach (var error in result.Errors) Console.WriteLine($"  failed {error.Input}: {error.Error}");
    foreach (string converted in result.ConvertedToPng) Console.WriteLine($"  converted to PNG: {converted}");

    // Step 4: verify the output against the input: every image present, decodable, same size, within the budget,
    // manifest hashes right, no temporary file left.
    var verification = ProtectedFolderVerifier.Verify(inputRoot, outputRoot);
    Console.WriteLine(string.Create(ci, $"Verified {verification.Checked} outputs (budget {verification.Levels} levels): {(verification.Passed ? "all good" : $"{verification.Problems.Count} problems")}"));
    foreach (string problem in verification.Problems) Console.WriteLine($"  {problem}");
    foreach (string note in verification.Notes) Console.WriteLine($"  note: {note}");
    return result.Failed == 0 && verification.Passed ? 0 : 1;
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("Cancelled. Files written so far are complete; run the same command again to resume.");
    return 130;
}
finally
{
    if (smokeFolder is not null) Directory.Delete(smokeFolder, recursive: true);
}

static CheckpointSet TrainOrReuse(string inputRoot, string folder, string architecture, int width, int epochs, int seed, CancellationToken cancel)
{
    var ci = CultureInfo.InvariantCulture;
    if (Directory.Exists(folder))
    {
        try
        {
            var existing = CheckpointSet.Open(folder);
            if (existing.Epochs.SequenceEqual(Enumerable.Range(0, epochs)))
            {
                Console.WriteLine($"Reusing the {epochs} checkpoints in {folder}.");
                return existing;
            }
            existing.Dispose();
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            // Not a complete checkpoint set (e.g. training was cancelled before the first one): train again.
        }
        Directory.Delete(folder, recursive: true);
    }

    var read = ImageFolderReader.Read(inputRoot, cancellationToken: cancel);
    foreach (var error in read.Errors) Console.Error.WriteLine($"warning: not training on {error.RelativePath}: {error.Message}");
    var images = read.Images;
    if (images.Count == 0) throw new InvalidDataException($"'{inputRoot}' holds no readable image in class folders ({inputRoot}/<class>/<image>).");
    if (images.Height != images.Width) throw new InvalidDataException($"The source model needs square images; these are {images.Height}x{images.Width}.");

    var spec = new ModelSpec(architecture, images.ClassNames.Count, width, ImageSize: images.Height);
    using var model = Classifier.Create(spec, ChannelStatistics.Of(images), images.ClassNames, seed: seed);
    var options = TrainingOptions.ForSep(epochs) with
    {
        Augmentation = ComposedAugmentation.Cifar(padding: Math.Max(1, images.Height / 8)),
        Seed = seed,
    };
    Console.WriteLine(string.Create(ci, $"Training the source model ({architecture} w{width}, {model.ParameterCount:N0} parameters) on {images.Count} images, {epochs} epochs, a checkpoint each"));
    var set = CheckpointSet.Create(folder);
    try
    {
        var progress = new SyncProgress<TrainingProgress>(p =>
        {
            if (p.Batch == p.BatchesPerEpoch) Console.WriteLine(string.Create(ci, $"  epoch {p.Epoch + 1}/{p.Epochs} loss {p.Loss:F3}"));
        });
        new Trainer(options).Train(model, images, null, set, progress, cancel);
        return set;
    }
    catch
    {
        set.Dispose();
        throw;
    }
}

static int Usage(string problem)
{
    Console.Error.WriteLine($"error: {problem}");
    Console.Error.WriteLine("usage: ProtectFolder INPUT_DIR OUTPUT_DIR [--epochs N] | --smoke");
    return 2;
}

/// <summary>Prints the job's progress: a line per stage change and at most one a second within a stage.</summary>
sealed class ConsoleProgress : IProgress<ProtectionProgress>
{
    private readonly Lock _gate = new();
    private string? _stage;
    private DateTime _last;

    public void Report(ProtectionProgress value)
    {
        lock (_gate)
        {
            var now = DateTime.UtcNow;
            bool last = value.Done >= value.Total;
            if (value.Stage == _stage && !last && now - _last < TimeSpan.FromSeconds(1)) return;
            _stage = value.Stage;
            _last = now;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {value.Stage,-8} {value.Done}/{value.Total}  {value.ImagesPerSecond:F1} img/s  {value.Elapsed:mm\\:ss}"));
        }
    }
}

/// <summary>An <see cref="IProgress{T}"/> that reports on the calling thread (Progress&lt;T&gt; posts to the thread pool, out of order).</summary>
sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
