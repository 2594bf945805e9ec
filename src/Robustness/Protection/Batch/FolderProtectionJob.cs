using Robustness.Validation;
using System.Diagnostics;
using Robustness.Data;
using static TorchSharp.torch;

namespace Robustness.Protection.Batch;

/// <summary>What a <see cref="FolderProtectionJob"/> is asked to do.</summary>
public sealed record FolderProtectionOptions
{
    /// <summary>The input: class folders (<c>root/&lt;class&gt;/.../&lt;image&gt;</c>); never written to.</summary>
    public required string InputRoot { get; init; }

    /// <summary>The output: the same relative paths as lossless PNG, plus <c>.robustness/</c>. Must lie apart from the input.</summary>
    public required string OutputRoot { get; init; }

    /// <summary>Images per batch: batch k holds files [kB, (k+1)B) of the sorted list.</summary>
    public int BatchSize { get; init; } = DataProtection.DefaultBatchSize;

    /// <summary>Which batches this process protects.</summary>
    public Shard Shard { get; init; } = Shard.Whole;

    /// <summary>Device the batches are read onto (CPU when null).</summary>
    public Device? Device { get; init; }

    /// <summary>
    /// The size the protector's model was trained on. Null: the size of the first readable image (in sorted order, so
    /// every shard agrees). A protector that <see cref="IDataProtector.ProtectsAnySize"/> protects every image at its own
    /// size and is prepared on the images stretched to this size; for the others, images of another size are per-file
    /// errors. The tool never resizes an output: a resized image is not the owner's image.
    /// </summary>
    public (int Height, int Width)? ImageSize { get; init; }

    /// <summary>
    /// Bytes the images of one protector call may take while crafted (4 GiB by default): a batch of large images is cut
    /// into chunks of one size that fit it (<see cref="FolderProtectionJob.CraftingBytesPerPixel"/> per pixel), down to one
    /// image a call. An image that alone needs more is still protected, alone.
    /// </summary>
    public long MemoryBudget { get; init; } = DefaultMemoryBudget;

    /// <summary>The default <see cref="MemoryBudget"/>, 4 GiB.</summary>
    public const long DefaultMemoryBudget = 4L << 30;

    /// <summary>Largest accepted width * height; bigger files are per-file errors.</summary>
    public long MaxPixels { get; init; } = ImageFileReader.DefaultMaxPixels;

    /// <summary>The settings written to <c>run.json</c>; null: the protector's name and budget and <see cref="BatchSize"/>.</summary>
    public ProtectionRunSettings? Settings { get; init; }

    /// <summary>
    /// Lowest acceptable PSNR in dB (null: no floor). An image whose protected version would fall below it is a per-file
    /// error naming its PSNR and is not written: the protection is never weakened behind the user's back.
    /// </summary>
    public double? MinPsnr { get; init; }

    /// <summary>Threads decoding during the scan (-1: every core).</summary>
    public int MaxDegreeOfParallelism { get; init; } = -1;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option that is wrong.</summary>
    public FolderProtectionOptions Validate()
    {
        ArgumentException.ThrowIfNullOrEmpty(InputRoot);
        ArgumentException.ThrowIfNullOrEmpty(OutputRoot);
        Require.BatchSize(BatchSize, nameof(BatchSize));
        Shard.Validate();
        Require.AtLeast(MaxPixels, 1, nameof(MaxPixels));
        Require.AtLeast(MemoryBudget, 1L << 20, nameof(MemoryBudget));
        if (ImageSize is { } s && (s.Height < 1 || s.Width < 1))
            throw new ArgumentOutOfRangeException(nameof(ImageSize), s, "ImageSize must be at least 1x1.");
        if (MinPsnr is double floor && (!double.IsFinite(floor) || floor <= 0))
            throw new ArgumentOutOfRangeException(nameof(MinPsnr), floor, "MinPsnr must be a positive number of dB (e.g. 35), or null.");
        if (MaxDegreeOfParallelism is 0 or < -1)
            throw new ArgumentOutOfRangeException(nameof(MaxDegreeOfParallelism), MaxDegreeOfParallelism, "MaxDegreeOfParallelism must be -1 or >= 1.");
        return this;
    }
}

/// <summary>What a run did (this shard, this invocation).</summary>
public sealed record FolderProtectionResult
{
    /// <summary>Image files listed in the input (all shards).</summary>
    public required int ListedFiles { get; init; }

    /// <summary>Image files in this shard's batches.</summary>
    public required int ShardFiles { get; init; }

    /// <summary>Files protected and written by this invocation.</summary>
    public required int Protected { get; init; }

    /// <summary>Files skipped because an earlier run already wrote them (manifest record, output present, hashes match).</summary>
    public required int AlreadyDone { get; init; }

    /// <summary>The files that failed in this invocation, as their manifest records.</summary>
    public required IReadOnlyList<ManifestRecord> Errors { get; init; }

    /// <summary>Input files of this shard (written now or earlier) whose extension was not .png: their outputs are .png.</summary>
    public required IReadOnlyList<string> ConvertedToPng { get; init; }

    /// <summary>Files of the input that are not images by their extension, or lie outside any class folder (left alone).</summary>
    public required IReadOnlyList<string> IgnoredFiles { get; init; }

    /// <summary>Stale temporary files of killed runs that were removed.</summary>
    public required int RemovedTempFiles { get; init; }

    /// <summary>The image size every input had to have, or, with <see cref="AnySize"/>, the working size of the protector's model.</summary>
    public required (int Height, int Width) ImageSize { get; init; }

    /// <summary>True when images of every size were protected at their own size.</summary>
    public bool AnySize { get; init; }

    /// <summary>The sizes of this shard's readable images (height, width) and how many have each, most frequent first.</summary>
    public IReadOnlyList<((int Height, int Width) Size, int Count)> Sizes { get; init; } = [];

    /// <summary>Wall time of the run.</summary>
    public required TimeSpan WallTime { get; init; }

    /// <summary>PSNR and SSIM of the images written by this invocation (null when it wrote none).</summary>
    public QualitySummary? Quality { get; init; }

    /// <summary>Files failed in this invocation.</summary>
    public int Failed => Errors.Count;

    /// <summary>Protected images per second of wall time.</summary>
    public double ImagesPerSecond => Protected / Math.Max(WallTime.TotalSeconds, 1e-9);
}

/// <summary>
/// Protects a folder of class folders into an output folder with one <see cref="IDataProtector"/>, resumably and
/// shardably. The input is listed and checked once (<see cref="InputFolderScan"/>); batch k holds files
/// [kB, (k+1)B) of the sorted list and shard i of n takes the batches with k mod n == i. Files a manifest says are
/// done (output present with the recorded SHA-256, input unchanged) are skipped; a batch with any file left is
/// protected whole (so its bytes are those of an uninterrupted run) and its remaining files are written, each
/// atomically as lossless PNG, each followed by a synced manifest record. A file that is refused or cannot be decoded
/// becomes an error record and the rest go on.
/// </summary>
public sealed class FolderProtectionJob
{
    private readonly IDataProtector _protector;
    private readonly FolderProtectionOptions _options;
    private readonly ProtectionRunSettings _settings;

    /// <summary>Creates the job; throws <see cref="ArgumentException"/> for bad options or settings that do not match the protector.</summary>
    public FolderProtectionJob(IDataProtector protector, FolderProtectionOptions options)
    {
        ArgumentNullException.ThrowIfNull(protector);
        ArgumentNullException.ThrowIfNull(options);
        _protector = protector;
        _options = options.Validate();
        _settings = options.Settings ?? new ProtectionRunSettings { Method = protector.Name, Epsilon = protector.Epsilon, BatchSize = options.BatchSize };
        if (!string.Equals(_settings.Method, protector.Name, StringComparison.OrdinalIgnoreCase)
            || Math.Abs(_settings.Epsilon - protector.Epsilon) > 1e-12 || _settings.BatchSize != options.BatchSize)
            throw new ArgumentException(
                $"Settings (method {_settings.Method}, eps {_settings.Epsilon}, batch size {_settings.BatchSize}) do not describe the protector " +
                $"({protector.Name}, eps {protector.Epsilon}) and batch size {options.BatchSize}.", nameof(options));
        OutputLayout.CheckApart(options.InputRoot, options.OutputRoot);
    }

    /// <summary>Runs the job; progress gets <c>scan</c>, the protector's <c>prepare</c>, and <c>protect</c> reports.</summary>
    public FolderProtectionResult Run(IProgress<ProtectionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var watch = Stopwatch.StartNew();
        string outputRoot = Path.GetFullPath(_options.OutputRoot);
        if (!Directory.Exists(_options.InputRoot)) throw new DirectoryNotFoundException($"Input folder '{_options.InputRoot}' does not exist.");
        Directory.CreateDirectory(outputRoot);
        // The manifests, run.json and the lock must live in the output folder: a .robustness that links elsewhere
        // would put them (and a later run's trust in them) somewhere else.
        if (new DirectoryInfo(OutputLayout.StateFolder(outputRoot)) is { LinkTarget: { } elsewhere })
            throw new InvalidOperationException($"'{OutputLayout.StateFolder(outputRoot)}' is a link (to '{elsewhere}'); the run's bookkeeping must be a real folder inside the output folder. Remove the link.");
        using var shardLock = ShardLock.Acquire(outputRoot, _options.Shard);
        _settings.WriteOrCheck(outputRoot);

        var scan = InputFolderScan.Run(_options.InputRoot, outputRoot, _options.ImageSize, _options.MaxPixels, _options.MaxDegreeOfParallelism, progress, cancellationToken,
            anySize: _protector.ProtectsAnySize);
        var files = scan.Files;
        int batchSize = _options.BatchSize;
        var myBatches = Enumerable.Range(0, (files.Count + batchSize - 1) / batchSize).Where(_options.Shard.Owns).ToArray();
        var mine = myBatches.SelectMany(k => Enumerable.Range(k * batchSize, Math.Min(batchSize, files.Count - k * batchSize))).ToArray();
        int removed = RemoveStaleTempFiles(outputRoot, mine.Select(i => files[i].OutputPath).ToHashSet(StringComparer.Ordinal));

        var done = DoneFiles(outputRoot, mine.Select(i => files[i]));
        var converted = mine.Where(i => !OutputLayout.IsPng(files[i].Entry.RelativePath)).Select(i => files[i].Entry.RelativePath).ToArray();
        var pending = myBatches.Where(k => Batch(k, files.Count).Any(i => !done.Contains(files[i].Entry.RelativePath))).ToArray();
        int pendingFiles = pending.Sum(k => Batch(k, files.Count).Count(i => !done.Contains(files[i].Entry.RelativePath)));
        var errors = new List<ManifestRecord>();
        var quality = new List<(double? Psnr, double Ssim)>();
        int written = 0;
        if (pending.Length > 0)
        {
            var readable = new ReadableImages(scan, _options.MaxPixels);
            using var session = _protector.Prepare(readable, progress, cancellationToken);
            using var manifest = new ManifestWriter(OutputLayout.ManifestFile(outputRoot, _options.Shard));
            var protectWatch = Stopwatch.StartNew();
            int handled = 0;
            foreach (int k in pending)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var todo = Batch(k, files.Count).Where(i => !done.Contains(files[i].Entry.RelativePath)).ToArray();
                foreach (var record in ProtectBatch(Batch(k, files.Count), todo, files, readable, session, outputRoot, cancellationToken))
                {
                    manifest.Append(record);
                    if (record.IsOk)
                    {
                        written++;
                        quality.Add((record.Psnr, record.Ssim!.Value));
                    }
                    else errors.Add(record);
                }
                handled += todo.Length;
                progress?.Report(new ProtectionProgress("protect", handled, pendingFiles, handled / Math.Max(protectWatch.Elapsed.TotalSeconds, 1e-9), protectWatch.Elapsed));
            }
        }

        return new FolderProtectionResult
        {
            ListedFiles = files.Count,
            ShardFiles = mine.Length,
            Protected = written,
            AlreadyDone = done.Count,
            Errors = errors,
            ConvertedToPng = converted,
            IgnoredFiles = scan.Index.SkippedFiles,
            RemovedTempFiles = removed,
            ImageSize = (scan.Height, scan.Width),
            AnySize = scan.AnySize,
            Sizes = mine.Where(i => files[i].Readable).GroupBy(i => (files[i].Height, files[i].Width))
                .Select(g => (g.Key, g.Count())).OrderByDescending(g => g.Item2).ThenBy(g => g.Key).ToArray(),
            WallTime = watch.Elapsed,
            Quality = QualitySummary.Of(quality),
        };
    }

    private int[] Batch(int k, int count)
    {
        int start = k * _options.BatchSize;
        return Enumerable.Range(start, Math.Min(_options.BatchSize, count - start)).ToArray();
    }

    /// <summary>
    /// Protects batch <paramref name="batch"/> (file positions) whole and returns the records of the files in
    /// <paramref name="todo"/>, writing their outputs. The batch's images go to the protector in groups of one size
    /// (in order of their first file), each group cut into chunks that fit the memory budget; only one chunk's pixels
    /// are in memory at a time.
    /// </summary>
    private List<ManifestRecord> ProtectBatch(int[] batch, int[] todo, IReadOnlyList<ScannedFile> files, ReadableImages readable,
        IProtectionSession session, string outputRoot, CancellationToken cancellationToken)
    {
        var records = new List<ManifestRecord>();
        var wanted = todo.ToHashSet();
        var present = new List<int>();
        foreach (int i in batch)
        {
            if (files[i].Readable) present.Add(i);
            else if (wanted.Contains(i)) records.Add(Failure(files[i], files[i].Error!));
        }
        foreach (var group in present.GroupBy(i => (files[i].Height, files[i].Width)))
        {
            var (height, width) = group.Key;
            int perChunk = ChunkSize(height, width, readable.Channels, _options.MemoryBudget, _options.BatchSize);
            foreach (var chunk in group.Chunk(perChunk))
                records.AddRange(ProtectChunk(chunk, height, width, wanted, files, readable, session, outputRoot, cancellationToken));
        }
        return records;
    }

    /// <summary>
    /// Bytes one pixel of an image costs while it is crafted at its own resolution: the float32 tensors of the clean
    /// image, the box bounds, the iterate, its gradient and the step's temporaries. Measured with the peak RSS of protect
    /// on 12 MP photos (benchmarks/results/large-images-cpu.md): going from one photo a chunk to two added about 240
    /// bytes a pixel. The models' activations are at their own input size and do not grow with the image; the work done
    /// on each photo after crafting (decoding, the quality measures, the PNG) is outside the budget.
    /// </summary>
    public const long CraftingBytesPerPixel = 240;

    /// <summary>How many images of <paramref name="height"/> x <paramref name="width"/> one protector call may take.</summary>
    internal static int ChunkSize(int height, int width, int channels, long memoryBudget, int batchSize)
    {
        long perImage = Math.Max(1L, (long)height * width * CraftingBytesPerPixel * channels / 3);
        return (int)Math.Clamp(memoryBudget / perImage, 1, batchSize);
    }

    private IEnumerable<ManifestRecord> ProtectChunk(int[] chunk, int height, int width, HashSet<int> wanted, IReadOnlyList<ScannedFile> files,
        ReadableImages readable, IProtectionSession session, string outputRoot, CancellationToken cancellationToken)
    {
        var records = new List<ManifestRecord>();
        // The channel count is the collection's (the reader's RGB today), never a literal here, so a reader of other
        // layouts changes one place; a source model that takes another count rejects the first batch by name.
        int channels = readable.Channels;
        int imageBytes = channels * height * width;
        var members = new List<(int File, byte[] Pixels)>();
        foreach (int i in chunk)
        {
            try
            {
                var image = ImageFileReader.Read(files[i].Entry.FullPath, SizePolicy.MatchFirst, _options.MaxPixels);
                if (image.Height != height || image.Width != width)
                    throw new InvalidDataException($"'{files[i].Entry.RelativePath}' is now {image.Height}x{image.Width}; it was {height}x{width} when the input was scanned");
                members.Add((i, image.Pixels));
            }
            catch (InvalidDataException e)
            {
                if (wanted.Contains(i)) records.Add(Failure(files[i], e.Message)); // changed since the scan
            }
        }
        if (members.Count == 0) return records;

        byte[] stored;
        using (var scope = NewDisposeScope())
        {
            var all = new byte[members.Count * imageBytes];
            for (int m = 0; m < members.Count; m++) members[m].Pixels.CopyTo(all, m * imageBytes);
            var indices = members.Select(m => readable.PositionOf[files[m.File].Entry.RelativePath]).ToArray();
            var labels = members.Select(m => (long)files[m.File].Entry.Label).ToArray();
            var device = _options.Device ?? CPU;
            using var imageBatch = new ImageBatch(ImageTensors.FromBytes(all, members.Count, channels, height, width, device), tensor(labels, device: device), indices);
            var result = session.Protect(imageBatch, cancellationToken);
            DataProtection.CheckStored(result, imageBatch, _protector.Name);
            stored = result.cpu().contiguous().bytes.ToArray();
        }

        int levels = ProtectionQuantizer.Levels(_protector.Epsilon);
        for (int m = 0; m < members.Count; m++)
        {
            var (i, clean) = members[m];
            if (!wanted.Contains(i)) continue;
            cancellationToken.ThrowIfCancellationRequested();
            var file = files[i];
            var protectedPixels = stored.AsSpan(m * imageBytes, imageBytes);
            int maxDelta = MaxDelta(clean, protectedPixels);
            if (maxDelta > levels)
                throw new InvalidOperationException($"Protector '{_protector.Name}' changed '{file.Entry.RelativePath}' by {maxDelta} levels, more than the budget's {levels}; nothing was written for it.");
            double? psnr = ImageQuality.Psnr(clean, protectedPixels);
            if (_options.MinPsnr is double floor && psnr < floor)
            {
                records.Add(Failure(file, string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"PSNR {psnr:F2} dB is below the minimum of {floor:0.##} dB (MinPsnr, --min-psnr); not written")));
                continue;
            }
            double ssim = ImageQuality.Ssim(clean, protectedPixels, channels, height, width);
            string inputSha = FileHash.Sha256(file.Entry.FullPath);
            string full = PngImageWriter.WriteImage(protectedPixels, channels, height, width, outputRoot, file.OutputPath);
            records.Add(new ManifestRecord
            {
                Input = file.Entry.RelativePath,
                InputSha256 = inputSha,
                Output = file.OutputPath,
                OutputSha256 = FileHash.Sha256(full),
                MaxDelta = maxDelta,
                Psnr = psnr,
                Ssim = ssim,
                Method = _protector.Name,
                Epsilon = _protector.Epsilon,
                Status = ManifestRecord.Ok,
            });
        }
        return records;
    }

    private ManifestRecord Failure(ScannedFile file, string error)
    {
        string? sha = null;
        try
        {
            if (File.Exists(file.Entry.FullPath) && InputFolderScan.LinkProblem(OutputLayout.Real(Path.GetFullPath(_options.InputRoot)), file.Entry.RelativePath) is null)
                sha = FileHash.Sha256(file.Entry.FullPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return new ManifestRecord
        {
            Input = file.Entry.RelativePath,
            InputSha256 = sha,
            Method = _protector.Name,
            Epsilon = _protector.Epsilon,
            Status = ManifestRecord.Failed,
            Error = error,
        };
    }

    internal static int MaxDelta(ReadOnlySpan<byte> clean, ReadOnlySpan<byte> stored)
    {
        int max = 0;
        for (int j = 0; j < clean.Length; j++) max = Math.Max(max, Math.Abs(stored[j] - clean[j]));
        return max;
    }

    /// <summary>Input paths whose output is already written and intact, as some manifest records it.</summary>
    private HashSet<string> DoneFiles(string outputRoot, IEnumerable<ScannedFile> files)
    {
        var records = ManifestReader.ReadAll(outputRoot).Where(r => r.IsOk).GroupBy(r => r.Input, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);
        var done = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            if (!file.Readable || !records.TryGetValue(file.Entry.RelativePath, out var candidates)) continue;
            string full = SafeOutputPath.Resolve(outputRoot, file.OutputPath);
            if (!File.Exists(full)) continue;
            string outputSha = FileHash.Sha256(full);
            string inputSha = FileHash.Sha256(file.Entry.FullPath);
            if (candidates.Any(r => r.Output == file.OutputPath && r.OutputSha256 == outputSha && r.InputSha256 == inputSha))
                done.Add(file.Entry.RelativePath);
        }
        return done;
    }

    /// <summary>
    /// Deletes the temporary files a killed run left beside this shard's outputs (only this shard writes those, so
    /// another shard's file in flight is never touched); a single-shard run also cleans the bookkeeping folder.
    /// </summary>
    private int RemoveStaleTempFiles(string outputRoot, HashSet<string> myOutputs)
    {
        int removed = 0;
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = true };
        foreach (string path in Directory.EnumerateFiles(outputRoot, ".*.tmp", options))
        {
            string? target = OutputLayout.TempFileTarget(Path.GetFileName(path));
            if (target is null) continue;
            string relativeFolder = Path.GetRelativePath(outputRoot, Path.GetDirectoryName(path)!).Replace(Path.DirectorySeparatorChar, '/');
            bool inState = relativeFolder == OutputLayout.StateFolderName || relativeFolder.StartsWith(OutputLayout.StateFolderName + "/", StringComparison.Ordinal);
            string relativeTarget = relativeFolder == "." ? target : $"{relativeFolder}/{target}";
            bool mine = inState ? _options.Shard.Count == 1 && relativeFolder == OutputLayout.StateFolderName : myOutputs.Contains(relativeTarget);
            if (!mine) continue;
            File.Delete(path);
            removed++;
        }
        return removed;
    }
}

/// <summary>
/// The exclusive OS lock on <see cref="OutputLayout.LockFile"/> a run holds while it protects a shard: a second run of
/// the same shard into the same folder (two terminals, a job scheduler retrying too early) refuses at once instead of
/// writing the same files and appending to the same manifest. The OS drops the lock when the process ends, however it ends.
/// </summary>
internal sealed class ShardLock : IDisposable
{
    private readonly FileStream _stream;

    private ShardLock(FileStream stream) => _stream = stream;

    /// <summary>Takes the lock of <paramref name="shard"/> in <paramref name="outputRoot"/>, or throws naming the shard.</summary>
    public static ShardLock Acquire(string outputRoot, Shard shard)
    {
        string path = OutputLayout.LockFile(outputRoot, shard);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        try
        {
            return new ShardLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException e)
        {
            throw new InvalidOperationException(
                $"Shard {shard.Index}/{shard.Count} of '{outputRoot}' is being protected by another run (it holds {path}); wait for it to finish or stop it, then run again.", e);
        }
    }

    public void Dispose() => _stream.Dispose();
}
