using TorchSharp;
using static TorchSharp.torch;

namespace Robustness;

/// <summary>
/// Per-channel input normalisation, (x - mean) / std, applied inside a <see cref="Classifier"/> so that every
/// technique works on raw images in [0,1] and never sees normalised pixels.
/// </summary>
public sealed record Normalization
{
    /// <summary>Creates a normalisation; <paramref name="mean"/> and <paramref name="std"/> have one entry per channel.</summary>
    public Normalization(IReadOnlyList<float> mean, IReadOnlyList<float> std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Count == 0) throw new ArgumentException("Normalization needs at least one channel.", nameof(mean));
        if (mean.Count != std.Count)
            throw new ArgumentException($"mean has {mean.Count} channels but std has {std.Count}; they must match.", nameof(std));
        foreach (float s in std)
            if (!(s > 0) || float.IsInfinity(s))
                throw new ArgumentOutOfRangeException(nameof(std), s, "Every std entry must be a finite number > 0.");
        foreach (float m in mean)
            if (!float.IsFinite(m)) throw new ArgumentOutOfRangeException(nameof(mean), m, "Every mean entry must be finite.");
        Mean = mean.ToArray();
        Std = std.ToArray();
    }

    /// <summary>Channel means.</summary>
    public IReadOnlyList<float> Mean { get; }

    /// <summary>Channel standard deviations.</summary>
    public IReadOnlyList<float> Std { get; }

    /// <summary>Number of channels.</summary>
    public int Channels => Mean.Count;

    /// <summary>No normalisation (mean 0, std 1) for <paramref name="channels"/> channels.</summary>
    public static Normalization Identity(int channels = 3) =>
        new(Enumerable.Repeat(0f, channels).ToArray(), Enumerable.Repeat(1f, channels).ToArray());

    /// <summary>The CIFAR-10 training-set statistics used by SEP and most CIFAR code.</summary>
    public static Normalization Cifar10 { get; } = new([0.4914f, 0.4822f, 0.4465f], [0.2470f, 0.2435f, 0.2616f]);

    /// <summary>The ImageNet statistics of torchvision's and timm's pretrained models.</summary>
    public static Normalization ImageNet { get; } = new([0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);

    /// <summary>True when this normalisation changes nothing.</summary>
    public bool IsIdentity => Mean.All(m => m == 0f) && Std.All(s => s == 1f);

    /// <summary>Value equality over the channel values.</summary>
    public bool Equals(Normalization? other) =>
        other is not null && Mean.SequenceEqual(other.Mean) && Std.SequenceEqual(other.Std);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Mean.Count, Mean.FirstOrDefault(), Std.FirstOrDefault());

    /// <summary>Mean and std as [1, C, 1, 1] tensors on <paramref name="device"/>, outside any dispose scope.</summary>
    internal (Tensor Mean, Tensor Std) CreateTensors(Device device)
    {
        var mean = torch.tensor(Mean.ToArray(), [1, Channels, 1, 1], device: device).DetachFromDisposeScope();
        var std = torch.tensor(Std.ToArray(), [1, Channels, 1, 1], device: device).DetachFromDisposeScope();
        return (mean, std);
    }
}
