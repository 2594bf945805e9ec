using Robustness.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Data;

/// <summary>Mirrors each image left-right with probability <see cref="Probability"/> (0.5 by default), independently per image.</summary>
public sealed class HorizontalFlipAugmentation : IBatchAugmentation
{
    /// <summary>Creates the augmentation; <paramref name="probability"/> must be in [0, 1].</summary>
    public HorizontalFlipAugmentation(double probability = 0.5)
    {
        if (!(probability is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(probability), probability, "probability must be in [0, 1].");
        Probability = probability;
    }

    /// <summary>The chance that an image is mirrored.</summary>
    public double Probability { get; }

    /// <inheritdoc />
    public Tensor Apply(Tensor images, Generator generator)
    {
        BatchChecks.Check(images, generator);
        long n = images.shape[0];
        if (n == 0) return images.clone();
        using var scope = torch.NewDisposeScope();
        using var probability = Probability.ToScalar();
        // One draw per image even for probability 0 or 1, so the generator advances the same way whatever the setting.
        var flip = torch.rand(n, ScalarType.Float64, torch.CPU, generator: generator).lt(probability).to(images.device);
        return torch.where(flip.view(n, 1, 1, 1), images.flip(3), images).MoveToOuterDisposeScope();
    }
}
