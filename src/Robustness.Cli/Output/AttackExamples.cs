using Robustness.Data;
using TorchSharp;

namespace Robustness.Cli.Output;

/// <summary>
/// Keeps the first few images an attack changed (the adversarial image differs from the clean one at 8 bits) as
/// pixel pairs for the report's clean | adversarial | amplified difference picture, and the largest change seen.
/// </summary>
public sealed class AttackExamples(ImageSet images, int capacity)
{
    /// <summary>Rows of the report's picture.</summary>
    public const int Rows = 6;

    private readonly List<(byte[] Original, byte[] Changed)> _rows = [];

    /// <summary>The pairs kept, in data order.</summary>
    public IReadOnlyList<(byte[] Original, byte[] Changed)> Pairs => _rows;

    /// <summary>The largest change of any pixel value of the pairs kept, in 8-bit levels.</summary>
    public int MaxLevels { get; private set; }

    /// <summary>The images' channels, height and width.</summary>
    public (int Channels, int Height, int Width) Shape => (images.Channels, images.Height, images.Width);

    /// <summary>Looks at one batch of adversarial images (the tensor is read, not kept).</summary>
    public void Add(int[] indices, torch.Tensor adversarial)
    {
        ArgumentNullException.ThrowIfNull(indices);
        ArgumentNullException.ThrowIfNull(adversarial);
        if (_rows.Count >= capacity) return;
        byte[] pixels = ImageTensors.ToBytes(adversarial);
        int bytes = images.ImageBytes;
        for (int i = 0; i < indices.Length && _rows.Count < capacity; i++)
        {
            byte[] original = images.GetImage(indices[i]).ToArray(), changed = pixels.AsSpan(i * bytes, bytes).ToArray();
            int levels = 0;
            for (int p = 0; p < bytes; p++) levels = Math.Max(levels, Math.Abs(changed[p] - original[p]));
            if (levels == 0) continue;
            MaxLevels = Math.Max(MaxLevels, levels);
            _rows.Add((original, changed));
        }
    }
}
