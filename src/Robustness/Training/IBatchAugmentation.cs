using static TorchSharp.torch;

namespace Robustness.Training;

/// <summary>
/// A random transformation of a training batch (random crop, horizontal flip, ...), applied by the
/// <see cref="Trainer"/> after the batch is on the device and before the forward pass. Implementations draw
/// every random choice from <c>rng</c>, so a training seed reproduces the augmented batches exactly.
/// </summary>
public interface IBatchAugmentation
{
    /// <summary>
    /// Returns augmented images: float32 [N, C, H, W] in [0,1], the same shape and device as <paramref name="images"/>.
    /// Called inside the trainer's per-batch dispose scope, so temporaries need no disposal.
    /// </summary>
    Tensor Apply(Tensor images, Random rng);
}
