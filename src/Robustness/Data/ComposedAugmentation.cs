using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Data;

/// <summary>Applies several augmentations one after the other, all drawing from the same generator.</summary>
public sealed class ComposedAugmentation : IBatchAugmentation
{
    private readonly IBatchAugmentation[] _steps;

    /// <summary>Chains <paramref name="steps"/>, first to last.</summary>
    public ComposedAugmentation(params IBatchAugmentation[] steps)
    {
        ArgumentNullException.ThrowIfNull(steps);
        if (steps.Any(s => s is null)) throw new ArgumentException("No augmentation step may be null.", nameof(steps));
        _steps = steps.ToArray();
    }

    /// <summary>The steps, in order.</summary>
    public IReadOnlyList<IBatchAugmentation> Steps => _steps;

    /// <summary>The augmentation's steps by name for reports and fingerprints ("RandomCrop + HorizontalFlip"; "none" for null).</summary>
    public static string Describe(IBatchAugmentation? augmentation) => augmentation switch
    {
        null => "none",
        ComposedAugmentation c => string.Join(" + ", c.Steps.Select(s => s.GetType().Name.Replace("Augmentation", "", StringComparison.Ordinal))),
        var a => a.GetType().Name,
    };

    /// <summary>The standard CIFAR training augmentation: random crop with 4 pixels of zero padding, then a horizontal flip with p = 0.5.</summary>
    public static ComposedAugmentation Cifar(int padding = 4) => new(new RandomCropAugmentation(padding), new HorizontalFlipAugmentation(0.5));

    /// <inheritdoc />
    public Tensor Apply(Tensor images, Generator generator)
    {
        BatchChecks.Check(images, generator);
        using var scope = torch.NewDisposeScope();
        var current = images.clone();
        foreach (var step in _steps) current = step.Apply(current, generator);
        return current.MoveToOuterDisposeScope();
    }
}

/// <summary>Argument checks shared by the augmentations.</summary>
internal static class BatchChecks
{
    public static void Check(Tensor images, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(generator);
        if (images.dim() != 4)
            throw new ArgumentException($"images must be a batch [N, C, H, W]; got {images.dim()} dimensions [{string.Join(", ", images.shape)}].", nameof(images));
        if (!images.is_floating_point())
            throw new ArgumentException($"images must be floating point in [0, 1]; got {images.dtype}.", nameof(images));
    }
}
