using Robustness.Data;
using Robustness.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Tests.Training;

/// <summary>
/// Tiny learnable data: 4 classes, the class is the quadrant that is bright (other pixels are dark noise).
/// Labels cycle 0,1,2,3 so every class is equally frequent.
/// </summary>
internal static class TinyQuadrants
{
    public static readonly string[] ClassNames = ["top-left", "top-right", "bottom-left", "bottom-right"];

    public static ImageSet Create(int count, int seed, int size = 8, int channels = 3)
    {
        var rng = new Random(seed);
        int half = size / 2;
        var pixels = new byte[count * channels * size * size];
        var labels = new long[count];
        for (int i = 0; i < count; i++)
        {
            int label = i % 4;
            labels[i] = label;
            int rowStart = label / 2 * half, colStart = label % 2 * half;
            for (int c = 0; c < channels; c++)
                for (int y = 0; y < size; y++)
                    for (int x = 0; x < size; x++)
                    {
                        bool bright = y >= rowStart && y < rowStart + half && x >= colStart && x < colStart + half;
                        pixels[((i * channels + c) * size + y) * size + x] = (byte)(bright ? rng.Next(150, 256) : rng.Next(0, 100));
                    }
        }
        return new ImageSet(pixels, labels, channels, size, size, ClassNames);
    }

    public static ModelSpec Spec(int width = 4, int size = 8) => new("small-cnn", Classes: 4, Width: width, InputChannels: 3, ImageSize: size);

    public static Classifier Model(int seed = 1, int width = 4) => Classifier.Create(Spec(width), classNames: ClassNames, seed: seed);

    /// <summary>True when every parameter and buffer of the two classifiers is bit-for-bit equal.</summary>
    public static bool SameWeights(Classifier a, Classifier b)
    {
        using var scope = torch.NewDisposeScope();
        var left = a.Network.state_dict();
        var right = b.Network.state_dict();
        return left.Count == right.Count && left.All(p => p.Value.shape.SequenceEqual(right[p.Key].shape) && p.Value.cpu().eq(right[p.Key].cpu()).all().item<bool>());
    }

    /// <summary>Logits for a fixed batch, copied to managed memory.</summary>
    public static float[] Logits(Classifier classifier, ImageSet data)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        using var mode = classifier.EvalMode();
        return classifier.Forward(data.ToTensor(classifier.Device)).cpu().data<float>().ToArray();
    }
}

/// <summary>An <see cref="IImageCollection"/> that is not an <see cref="ImageSet"/> (forces the per-batch read path).</summary>
internal sealed class StreamedView(ImageSet inner) : IImageCollection
{
    public int Count => inner.Count;
    public int Channels => inner.Channels;
    public int Height => inner.Height;
    public int Width => inner.Width;
    public IReadOnlyList<string> ClassNames => inner.ClassNames;
    public long GetLabel(int index) => inner.GetLabel(index);
    public string? GetRelativePath(int index) => inner.GetRelativePath(index);
    public void CopyImage(int index, Span<byte> destination) => inner.CopyImage(index, destination);
}

/// <summary>A folder under the temp directory, deleted at the end of the test.</summary>
internal sealed class TempFolder : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "robustness-training-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
    }
}
