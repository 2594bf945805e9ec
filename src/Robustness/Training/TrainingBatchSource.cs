using Robustness.Data;
using Robustness.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Training;

/// <summary>
/// Reads training batches onto the device. An in-memory <see cref="ImageSet"/> is uploaded once as uint8 (a
/// quarter of its float32 size; CIFAR-10 is 150 MB), so each batch is one index_select and one conversion on the
/// device instead of a host copy per batch. Other collections are read batch by batch.
/// </summary>
public sealed class TrainingBatchSource : ITrainingBatchReader, IDisposable
{
    /// <summary>Larger in-memory sets are read per batch rather than held on the device.</summary>
    private const long MaxResidentBytes = 2L * 1024 * 1024 * 1024;

    private readonly IImageCollection _source;
    private readonly Device _device;
    private readonly Tensor? _pixels;
    private readonly Tensor? _labels;

    /// <summary>Reads <paramref name="source"/> onto <paramref name="device"/> (an in-memory set is uploaded once).</summary>
    public TrainingBatchSource(IImageCollection source, Device device)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(device);
        _source = source;
        _device = device;
        if (source is ImageSet set && (long)set.Count * set.ImageBytes <= MaxResidentBytes)
        {
            using var scope = torch.NewDisposeScope();
            var pixels = torch.tensor(set.Pixels.ToArray(), [set.Count, set.Channels, set.Height, set.Width], ScalarType.Byte);
            _pixels = pixels.to(device).DetachFromDisposeScope();
            _labels = torch.tensor(set.Labels.ToArray(), device: device).DetachFromDisposeScope();
        }
    }

    /// <summary>Images (float32 in [0,1]) and labels (int64) of <paramref name="indices"/>, in the caller's dispose scope.</summary>
    public (Tensor Images, Tensor Labels) Read(int[] indices)
    {
        if (_pixels is null)
        {
            var batch = ImageBatches.Read(_source, indices, _device);
            return (batch.Images, batch.Labels);
        }
        var rows = new long[indices.Length];
        for (int i = 0; i < rows.Length; i++) rows[i] = indices[i];
        var index = torch.tensor(rows, device: _device);
        var images = _pixels.index_select(0, index).to_type(ScalarType.Float32).div_(Scalars.Levels255);
        return (images, _labels!.index_select(0, index));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _pixels?.Dispose();
        _labels?.Dispose();
    }
}
