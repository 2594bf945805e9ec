using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Robustness.Data;
using Robustness.Hosting;
using Robustness.Protection;
using Robustness.Training;
using static TorchSharp.torch;

namespace Robustness.Samples.WorkerService;

/// <summary>What the worker watches, where it writes and how it protects.</summary>
/// <param name="Inbox">The folder images are dropped into (never written to).</param>
/// <param name="Outbox">Where the protected copies go, under the same relative paths, as PNG.</param>
public sealed record WorkerOptions(string Inbox, string Outbox)
{
    /// <summary>The source model's checkpoint set for SEP; null: random +-eps noise.</summary>
    public string? Checkpoints { get; init; }

    /// <summary>The l-inf budget on the [0,1] scale.</summary>
    public double Epsilon { get; init; } = 8.0 / 255;

    /// <summary>SEP's iterations T (null: its default, 30).</summary>
    public int? Iterations { get; init; }

    /// <summary>SEP's checkpoint count K (null: its default, 30, capped at the checkpoints there).</summary>
    public int? CheckpointCount { get; init; }

    /// <summary>How often the inbox is looked at. Polling works on every file system, network shares included.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>A file is taken only once it has not changed for this long (a copy in progress is left alone).</summary>
    public TimeSpan SettleTime { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// Protects every image that appears in <see cref="WorkerOptions.Inbox"/> into <see cref="WorkerOptions.Outbox"/>.
/// Graceful shutdown: the stopping token is checked between images, never inside one, so the image in hand is
/// finished and written (atomically, by <see cref="PngImageWriter"/>) and no new one is started.
/// </summary>
public sealed class InboxProtectionWorker(WorkerOptions options, ITechniqueCatalog catalog, ILogger<InboxProtectionWorker> logger) : BackgroundService
{
    private readonly Dictionary<string, DateTime> _failed = new(StringComparer.Ordinal);

    /// <summary>Images protected since the worker started.</summary>
    public int Protected { get; private set; }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield(); // the loop below is synchronous work: let the host finish starting first

        // The protector from the catalogue: SEP needs the checkpoints, random noise nothing.
        using var checkpoints = options.Checkpoints is null ? null : CheckpointSet.Open(options.Checkpoints);
        var definition = catalog.Create(TechniqueFamily.Protectors, checkpoints is null ? "random" : "sep");
        var protector = definition.Build(new ProtectorSettings
        {
            Epsilon = options.Epsilon, Checkpoints = checkpoints, Seed = 0,
            Iterations = checkpoints is null ? null : options.Iterations,
            CheckpointCount = checkpoints is null ? null : Math.Min(options.CheckpointCount ?? SelfEnsembleProtection.DefaultCheckpointCount, checkpoints.Count),
        });
        try
        {
            // SEP's targets come from the labels; an image outside a class folder is labelled by the source model.
            var sourceModel = (protector as SelfEnsembleProtection)?.Checkpoints[^1];
            logger.LogInformation("Watching {Inbox}: {Method} at eps {Epsilon} into {Outbox}{Model}", options.Inbox, protector.Name,
                Attacks.Budget.Format(protector.Epsilon), options.Outbox,
                sourceModel is null ? "" : $" (source model {sourceModel.Spec.Architecture}, {sourceModel.Spec.ImageSize}x{sourceModel.Spec.ImageSize} images)");
            while (!stoppingToken.IsCancellationRequested)
            {
                foreach (var (full, relative) in PendingFiles())
                {
                    if (stoppingToken.IsCancellationRequested) break; // never start an image after the stop request
                    ProtectFile(protector, sourceModel, full, relative);
                }
                try
                {
                    await Task.Delay(options.PollInterval, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
            logger.LogInformation("Stopping: {Count} images protected since the start.", Protected);
        }
        finally
        {
            (protector as IDisposable)?.Dispose();
        }
    }

    /// <summary>Image files of the inbox that have settled and have no output yet, in path order.</summary>
    private IEnumerable<(string Full, string Relative)> PendingFiles()
    {
        var enumeration = new EnumerationOptions
        {
            RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.Hidden | FileAttributes.System,
        };
        var now = DateTime.UtcNow;
        foreach (string full in Directory.EnumerateFiles(options.Inbox, "*", enumeration).Order(StringComparer.Ordinal))
        {
            // Names starting with '.' are hidden files and the temporary files of atomic writers (.name.tmp).
            if (Path.GetFileName(full).StartsWith('.') || !ImageFileReader.HasSupportedExtension(full)) continue;
            string relative = Path.GetRelativePath(options.Inbox, full).Replace(Path.DirectorySeparatorChar, '/');
            DateTime written;
            try
            {
                written = File.GetLastWriteTimeUtc(full);
            }
            catch (IOException)
            {
                continue; // gone meanwhile
            }
            if (now - written < options.SettleTime) continue;
            if (_failed.TryGetValue(relative, out var failedVersion) && failedVersion == written) continue; // unchanged since it failed
            if (File.Exists(Path.Combine(options.Outbox, Path.ChangeExtension(relative, ".png")))) continue;
            yield return (full, relative);
        }
    }

    /// <summary>Protects one file and writes its output; a file that cannot be protected is logged and left until it changes.</summary>
    private void ProtectFile(IDataProtector protector, Classifier? sourceModel, string full, string relative)
    {
        try
        {
            var size = sourceModel is null ? null : SizePolicy.Require(sourceModel.Spec.ImageSize, sourceModel.Spec.ImageSize);
            var image = size is null ? ImageFileReader.Read(full) : ImageFileReader.Read(full, size);
            byte[] stored;
            long label;
            using (var scope = NewDisposeScope())
            {
                var pixels = ImageTensors.FromBytes(image.Pixels, 1, image.Channels, image.Height, image.Width);
                label = LabelOf(relative, sourceModel, pixels);
                // The session is prepared on this one image (random noise and SEP look at nothing else). Its index is
                // a stable number for the file, so random noise differs from file to file and is the same on a rerun.
                var clean = new ImageSet(image.Pixels, [label], image.Channels, image.Height, image.Width,
                    sourceModel?.ClassNames ?? ["image"]);
                using var session = protector.Prepare(clean);
                using var batch = new ImageBatch(pixels, tensor(new[] { label }), [StableIndex(relative)]);
                var result = session.Protect(batch); // not cancellable: the image in hand is always finished
                DataProtection.CheckStored(result, batch, protector.Name);
                stored = result.cpu().contiguous().bytes.ToArray();
            }
            int levels = ProtectionQuantizer.Levels(protector.Epsilon);
            int maxDelta = image.Pixels.Zip(stored, (a, b) => Math.Abs(a - b)).Max();
            if (maxDelta > levels) throw new InvalidOperationException($"{protector.Name} changed it by {maxDelta} levels, more than {levels}.");
            // Temporary file in the output folder, then a rename: the outbox never holds a partial image.
            PngImageWriter.WriteImage(stored, image.Channels, image.Height, image.Width, options.Outbox, relative);
            Protected++;
            logger.LogInformation("Protected {File} (label {Label}, largest change {Delta}/255)", relative,
                sourceModel is null ? "-" : sourceModel.ClassNames[(int)label], maxDelta);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            logger.LogWarning("Skipping {File}: {Reason}", relative, e.Message);
            try
            {
                _failed[relative] = File.GetLastWriteTimeUtc(full);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>The class folder's label when the file lies in a folder named after a class of the model, else the model's prediction.</summary>
    private static long LabelOf(string relative, Classifier? sourceModel, Tensor pixels)
    {
        if (sourceModel is null) return 0; // random noise ignores labels
        int slash = relative.IndexOf('/');
        int index = slash > 0 ? IndexOf(sourceModel.ClassNames, relative[..slash]) : -1;
        if (index >= 0) return index;
        using var mode = sourceModel.EvalMode();
        using var images = pixels.to(sourceModel.Device);
        using var predicted = sourceModel.Predict(images);
        return predicted.cpu().item<long>();
    }

    private static int IndexOf(IReadOnlyList<string> names, string name)
    {
        for (int i = 0; i < names.Count; i++)
            if (string.Equals(names[i], name, StringComparison.Ordinal)) return i;
        return -1;
    }

    /// <summary>A non-negative number that depends only on the relative path.</summary>
    private static int StableIndex(string relative) =>
        BitConverter.ToInt32(SHA256.HashData(Encoding.UTF8.GetBytes(relative)), 0) & int.MaxValue;
}
