using static TorchSharp.torch;

namespace Robustness.Data;

/// <summary>
/// A random transformation of a training batch: float32 images [N, C, H, W] in [0,1] in, a new tensor of the same
/// shape and range out. Each image gets its own random draw; all randomness comes from <c>generator</c>, a CPU
/// <see cref="Generator"/>, so a seeded generator makes the result reproducible on any device.
/// </summary>
public interface IBatchAugmentation
{
    /// <summary>
    /// Returns the augmented batch, created in the caller's dispose scope; <paramref name="images"/> is left unchanged.
    /// </summary>
    Tensor Apply(Tensor images, Generator generator);
}
