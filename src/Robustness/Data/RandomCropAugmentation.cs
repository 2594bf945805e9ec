using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Data;

/// <summary>
/// Random crop with zero padding (the standard CIFAR augmentation with <c>padding = 4</c>): every image is padded by
/// <see cref="Padding"/> zeros on each side and an H x W window is cut out at an offset drawn uniformly per image,
/// i.e. each image is shifted by up to <see cref="Padding"/> pixels in each direction, the uncovered border filled
/// with black. With padding 0 it is the identity.
/// </summary>
/// <remarks>
/// The batch is padded once; the windows are then taken with two <c>gather</c> calls (rows, then columns) whose
/// indices are each image's offset plus 0..H-1 (0..W-1), so the work is a few tensor operations for the whole batch.
/// </remarks>
public sealed class RandomCropAugmentation : IBatchAugmentation
{
    /// <summary>Creates the augmentation; <paramref name="padding"/> is the largest shift in pixels (0 to 64).</summary>
    public RandomCropAugmentation(int padding = 4)
    {
        if (padding is < 0 or > 64) throw new ArgumentOutOfRangeException(nameof(padding), padding, "padding must be between 0 and 64 pixels.");
        Padding = padding;
    }

    /// <summary>Zero padding on each side, i.e. the largest shift, in pixels.</summary>
    public int Padding { get; }

    /// <inheritdoc />
    public Tensor Apply(Tensor images, Generator generator)
    {
        BatchChecks.Check(images, generator);
        long n = images.shape[0], c = images.shape[1], h = images.shape[2], w = images.shape[3];
        if (Padding == 0 || n == 0) return images.clone();
        using var scope = torch.NewDisposeScope();
        int p = Padding;
        using Scalar height = h.ToScalar(), width = w.ToScalar();
        var padded = nn.functional.pad(images, [p, p, p, p], PaddingModes.Constant, 0.0);
        // Offsets in [0, 2p] per image, drawn on the CPU so that the generator decides them on every device.
        var offsets = torch.randint(0, 2 * p + 1, [2, n], ScalarType.Int64, torch.CPU, generator: generator).to(images.device);
        var rows = offsets[0].view(n, 1) + torch.arange(height, ScalarType.Int64, images.device).view(1, h);      // [n, h]
        var cols = offsets[1].view(n, 1) + torch.arange(width, ScalarType.Int64, images.device).view(1, w);      // [n, w]
        var rowIndex = rows.view(n, 1, h, 1).expand(n, c, h, w + 2 * p);
        var keptRows = padded.gather(2, rowIndex);                                                              // [n, c, h, w+2p]
        var colIndex = cols.view(n, 1, 1, w).expand(n, c, h, w);
        return keptRows.gather(3, colIndex).MoveToOuterDisposeScope();                                          // [n, c, h, w]
    }
}
