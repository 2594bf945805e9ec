using Robustness.Data;
using Robustness.Models;
using Robustness.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Robustness.Tests.Attacks;

/// <summary>
/// A SmallCnn (width 8) trained once per test run on the synthetic set, shared by every attack test class in the
/// "trained model" collection, with a batch of test images it classifies (mostly) correctly.
/// </summary>
public sealed class TrainedModelFixture : IDisposable
{
    public TrainedModelFixture()
    {
        var sets = SyntheticImageSet.TrainTest(2000, 256, seed: 11);
        TestSet = sets.Test;
        Model = Classifier.Create(new ModelSpec("small-cnn", 10, 8), ChannelStatistics.Of(sets.Train), sets.Train.ClassNames, seed: 0);
        var options = TrainingOptions.ForSep(6) with { BatchSize = 64, Augmentation = ComposedAugmentation.Cifar(), Seed = 0 };
        new Trainer(options).Train(Model, sets.Train);
        Model.Eval();
        Images = TestSet.ToTensor(0, BatchSize).DetachFromDisposeScope();
        Labels = TestSet.LabelsTensor(0, BatchSize).DetachFromDisposeScope();
        using var scope = torch.NewDisposeScope();
        CleanAccuracy = Accuracy(Images);
    }

    /// <summary>Images in <see cref="Images"/>.</summary>
    public const int BatchSize = 64;

    /// <summary>The trained model (eval mode).</summary>
    public Classifier Model { get; }

    /// <summary>Held-out synthetic images.</summary>
    public ImageSet TestSet { get; }

    /// <summary>The first <see cref="BatchSize"/> test images, float32 in [0,1].</summary>
    public Tensor Images { get; }

    /// <summary>Their labels.</summary>
    public Tensor Labels { get; }

    /// <summary>Clean accuracy on <see cref="Images"/>.</summary>
    public double CleanAccuracy { get; }

    /// <summary>Accuracy of the model on <paramref name="images"/> against <see cref="Labels"/>.</summary>
    public double Accuracy(Tensor images)
    {
        using var scope = torch.NewDisposeScope();
        return Model.Predict(images).eq(Labels).to(ScalarType.Float32).mean().item<float>();
    }

    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
        Model.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class TrainedModelCollection : ICollectionFixture<TrainedModelFixture>
{
    public const string Name = "trained model";
}
