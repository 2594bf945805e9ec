using Robustness.Data;
using Robustness.Models;
using Robustness.Protection;
using Robustness.Training;
using Xunit;
using static TorchSharp.torch;

namespace Robustness.Tests.Protection;

/// <summary>
/// One tiny source-model training run shared by the SEP tests: a SmallCnn of width 8 trained for four epochs on 480
/// synthetic 16x16 images with SEP's recipe, keeping a checkpoint after every epoch in memory.
/// </summary>
public sealed class SepFixture : IDisposable
{
    public const int Epochs = 4;

    public SepFixture()
    {
        Train = SyntheticImageSet.Generate(480, seed: 21, size: 16);
        var spec = new ModelSpec("small-cnn", 10, 8, ImageSize: 16);
        using var model = Classifier.Create(spec, ChannelStatistics.Of(Train), Train.ClassNames, seed: 3);
        Checkpoints = CheckpointSet.InMemory();
        var options = TrainingOptions.ForSep(Epochs) with { BatchSize = 32, Seed = 0 };
        new Trainer(options).Train(model, Train, checkpoints: Checkpoints);
        Sample = Train.Subset(Enumerable.Range(0, 32).ToArray());
    }

    /// <summary>The source model's training images.</summary>
    public ImageSet Train { get; }

    /// <summary>Epochs 0..3 of the source model.</summary>
    public CheckpointSet Checkpoints { get; }

    /// <summary>The first 32 training images (every class present), the images the tests protect.</summary>
    public ImageSet Sample { get; }

    /// <summary>The checkpoints of <paramref name="epochs"/>, loaded fresh (the caller disposes them).</summary>
    public Classifier[] Load(params int[] epochs) => epochs.Select(e => Checkpoints.Load(e)).ToArray();

    /// <summary>A protector over freshly loaded checkpoints that it owns.</summary>
    public SelfEnsembleProtection Protector(SepOptions options, params int[] epochs) =>
        new(Load(epochs), options, ownsCheckpoints: true);

    public void Dispose() => Checkpoints.Dispose();
}

[CollectionDefinition(Name)]
public sealed class SepCollection : ICollectionFixture<SepFixture>
{
    public const string Name = "sep checkpoints";
}

/// <summary>Helpers shared by the protection tests.</summary>
internal static class ProtectionAssertions
{
    /// <summary>Stored minus clean, per byte.</summary>
    public static int[] Deltas(ImageSet stored, ImageSet clean) =>
        stored.Pixels.ToArray().Zip(clean.Pixels.ToArray(), (s, c) => s - c).ToArray();

    /// <summary>The images of <paramref name="set"/> as float32 [N,C,H,W].</summary>
    public static Tensor Images(ImageSet set) => set.ToTensor();
}
