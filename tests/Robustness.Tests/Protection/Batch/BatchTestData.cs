using Robustness.Data;
using Robustness.Protection;
using Robustness.Tests.Data;
using SixLabors.ImageSharp;
using static TorchSharp.torch;

namespace Robustness.Tests.Protection.Batch;

/// <summary>Small class-folder trees and a test-only protector for the batch tool's tests.</summary>
public static class BatchTestData
{
    /// <summary>Writes <paramref name="classes"/> x <paramref name="perClass"/> gradient PNGs of size <paramref name="size"/> under <paramref name="root"/>.</summary>
    public static void WriteFolder(string root, int classes = 3, int perClass = 5, int size = 8)
    {
        for (int c = 0; c < classes; c++)
        for (int i = 0; i < perClass; i++)
        {
            string path = Path.Combine(root, $"class{c}", $"img{i:D2}.png");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using var image = TestFiles.Gradient(size, size, salt: c * 31 + i * 7);
            image.SaveAsPng(path);
        }
    }

    /// <summary>Every file under <paramref name="root"/> but the bookkeeping folder, relative path to bytes.</summary>
    public static SortedDictionary<string, byte[]> Outputs(string root) => new(
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Where(f => !Path.GetRelativePath(root, f).StartsWith(".robustness", StringComparison.Ordinal))
            .ToDictionary(f => Path.GetRelativePath(root, f).Replace('\\', '/'), File.ReadAllBytes), StringComparer.Ordinal);
}

/// <summary>
/// A protector for tests: adds +levels to every channel of even-indexed images and -levels to odd ones (clipped), so
/// the output depends on the index the session is given; records what it was prepared on and the batches it saw.
/// With <paramref name="anySize"/> it takes batches of any size (as SEP does).
/// </summary>
public sealed class ShiftProtector(double epsilon, int overshoot = 0, bool anySize = false) : IDataProtector
{
    public string Name => "shift";

    public bool ProtectsAnySize => anySize;

    /// <summary>The [N, C, H, W] shape of every batch protected, in order.</summary>
    public List<long[]> Shapes { get; } = [];

    public double Epsilon => epsilon;

    public int PreparedCount { get; private set; } = -1;

    public List<int[]> Batches { get; } = [];

    public IProtectionSession Prepare(IImageCollection clean, IProgress<ProtectionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        PreparedCount = clean.Count;
        return new Session(this);
    }

    private sealed class Session(ShiftProtector owner) : IProtectionSession
    {
        public Tensor Protect(ImageBatch batch, CancellationToken cancellationToken = default)
        {
            owner.Batches.Add(batch.Indices.ToArray());
            owner.Shapes.Add(batch.Images.shape);
            using var scope = NewDisposeScope();
            int levels = ProtectionQuantizer.Levels(owner.Epsilon) + owner._overshoot;
            var signs = tensor(batch.Indices.Select(i => i % 2 == 0 ? 1f : -1f).ToArray()).reshape(-1, 1, 1, 1);
            var stored = batch.Images.cpu().mul(255).round().add(signs.mul(levels)).clamp(0, 255).to(ScalarType.Byte);
            return stored.MoveToOuterDisposeScope();
        }

        public void Dispose()
        {
        }
    }

    private readonly int _overshoot = overshoot;
}
