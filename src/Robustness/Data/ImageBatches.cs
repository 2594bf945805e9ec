using Robustness.Validation;
using static TorchSharp.torch;

namespace Robustness.Data;

/// <summary>One batch: float32 images [n, C, H, W] in [0,1], int64 labels [n] and the source indices.</summary>
public sealed class ImageBatch : IDisposable
{
    /// <summary>Creates a batch.</summary>
    public ImageBatch(Tensor images, Tensor labels, int[] indices)
    {
        Images = images;
        Labels = labels;
        Indices = indices;
    }

    /// <summary>Images in [0,1].</summary>
    public Tensor Images { get; }

    /// <summary>Labels, int64.</summary>
    public Tensor Labels { get; }

    /// <summary>Indices of the images in their collection.</summary>
    public int[] Indices { get; }

    /// <summary>Number of images.</summary>
    public int Count => Indices.Length;

    /// <inheritdoc />
    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
    }
}

/// <summary>Cuts an <see cref="IImageCollection"/> into batches, in order or shuffled with a seed.</summary>
public static class ImageBatches
{
    /// <summary>
    /// The batch order for one pass: 0..Count-1, or a permutation drawn from <paramref name="random"/>.
    /// With <paramref name="dropLast"/> a final short batch is left out.
    /// </summary>
    public static IEnumerable<int[]> Plan(int count, int batchSize, Random? random = null, bool dropLast = false)
    {
        Require.BatchSize(batchSize, nameof(batchSize));
        var order = Enumerable.Range(0, count).ToArray();
        random?.Shuffle(order);
        for (int start = 0; start < count; start += batchSize)
        {
            int n = Math.Min(batchSize, count - start);
            if (dropLast && n < batchSize) yield break;
            yield return order.AsSpan(start, n).ToArray();
        }
    }

    /// <summary>
    /// Reads one batch. The tensors are created in the caller's dispose scope (if any); dispose the batch or
    /// let the scope do it.
    /// </summary>
    public static ImageBatch Read(IImageCollection source, int[] indices, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(indices);
        if (source is ImageSet set)
            return new ImageBatch(set.ToTensor(indices, device), set.LabelsTensor(indices, device), indices);
        int bytes = source.Channels * source.Height * source.Width;
        var pixels = new byte[indices.Length * bytes];
        var labels = new long[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            source.CopyImage(indices[i], pixels.AsSpan(i * bytes, bytes));
            labels[i] = source.GetLabel(indices[i]);
        }
        var images = ImageTensors.FromBytes(pixels, indices.Length, source.Channels, source.Height, source.Width, device);
        return new ImageBatch(images, TorchSharp.torch.tensor(labels, device: device ?? TorchSharp.torch.CPU), indices);
    }
}
