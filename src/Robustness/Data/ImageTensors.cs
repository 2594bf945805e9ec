using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Data;

/// <summary>Conversions between uint8 pixels and the float32 [0,1] tensors every technique takes.</summary>
public static class ImageTensors
{
    /// <summary>Channel-first uint8 pixels of <paramref name="count"/> images to float32 [count, C, H, W] in [0,1].</summary>
    public static Tensor FromBytes(ReadOnlySpan<byte> pixels, int count, int channels, int height, int width, Device? device = null)
    {
        using var scope = torch.NewDisposeScope();
        // An explicit Scalar, alive until the end of the method: TorchSharp leaves implicitly converted Scalars to the
        // finalizer, which can free one while the native call still reads it ("Unknown scalar type", seen once under load).
        using var levels = 255f.ToScalar();
        var raw = torch.tensor(pixels.ToArray(), [count, channels, height, width], ScalarType.Byte);
        var result = raw.to(device ?? torch.CPU).to_type(ScalarType.Float32).div_(levels);
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// float32 images in [0,1] to channel-first uint8 pixels, rounding to the nearest level (values outside
    /// [0,1] are clamped first).
    /// </summary>
    public static byte[] ToBytes(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        using var scope = torch.NewDisposeScope();
        using Scalar zero = 0f.ToScalar(), one = 1f.ToScalar(), levels = 255f.ToScalar(); // explicit: see FromBytes
        var quantised = images.detach().clamp(zero, one).mul(levels).round().to_type(ScalarType.Byte).cpu().contiguous();
        return quantised.bytes.ToArray();
    }
}
