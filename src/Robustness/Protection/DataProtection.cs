using Robustness.Validation;
using System.Diagnostics;
using Robustness.Data;
using static TorchSharp.torch;

namespace Robustness.Protection;

/// <summary>
/// Protects a whole collection in memory with one <see cref="IDataProtector"/>: prepare once, then batches of
/// consecutive indices (0..B-1, B..2B-1, ...), the same plan the batch tool uses, so the bytes agree with it.
/// The result keeps the labels, class names and relative paths.
/// </summary>
public static class DataProtection
{
    /// <summary>The batch size used when none is given (SEP's crafting batch in the reference runs).</summary>
    public const int DefaultBatchSize = 128;

    /// <summary>
    /// Returns the protected copy of <paramref name="clean"/>. Batches are read onto <paramref name="device"/> (CPU when
    /// null); <paramref name="progress"/> gets a <c>protect</c> report after each batch.
    /// </summary>
    public static ImageSet Protect(IDataProtector protector, IImageCollection clean, int batchSize = DefaultBatchSize,
        Device? device = null, IProgress<ProtectionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(protector);
        ArgumentNullException.ThrowIfNull(clean);
        Require.BatchSize(batchSize, nameof(batchSize));
        var source = clean as ImageSet ?? ImageSet.From(clean);
        using var session = protector.Prepare(source, progress, cancellationToken);
        var pixels = new byte[source.Count * source.ImageBytes];
        var watch = Stopwatch.StartNew();
        int done = 0;
        foreach (var indices in ImageBatches.Plan(source.Count, batchSize))
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            using var batch = ImageBatches.Read(source, indices, device);
            var stored = session.Protect(batch, cancellationToken);
            CheckStored(stored, batch, protector.Name);
            stored.cpu().contiguous().bytes.CopyTo(pixels.AsSpan(indices[0] * source.ImageBytes));
            done += indices.Length;
            progress?.Report(new ProtectionProgress("protect", done, source.Count, done / Math.Max(watch.Elapsed.TotalSeconds, 1e-9), watch.Elapsed));
        }
        return source.WithPixels(pixels);
    }

    /// <summary>Checks a session's output against the contract of <see cref="IProtectionSession.Protect"/>.</summary>
    public static void CheckStored(Tensor stored, ImageBatch batch, string protectorName)
    {
        ArgumentNullException.ThrowIfNull(stored);
        ArgumentNullException.ThrowIfNull(batch);
        if (stored.dtype != ScalarType.Byte || !stored.shape.SequenceEqual(batch.Images.shape))
            throw new InvalidOperationException(
                $"Protector '{protectorName}' returned a {stored.dtype} tensor of shape [{string.Join(", ", stored.shape)}]; " +
                $"expected uint8 [{string.Join(", ", batch.Images.shape)}].");
    }
}
