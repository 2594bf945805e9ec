using Robustness.Validation;
using Robustness.Data;
using Robustness.Models;
using Robustness.Training;
using static TorchSharp.torch;

namespace Robustness.Protection;

/// <summary>
/// How SEP's source model is trained (SEP.md, step 1): its architecture, its training recipe with a checkpoint every
/// epoch, its normalisation, a seed and a device. The one statement of the recipe that the tool's
/// <c>protect --train-epochs</c>, the demo and the benchmarks use; the victims' counterpart is <see cref="VictimRecipe"/>.
/// </summary>
/// <param name="Spec">The source model's architecture; its class count and input channels must match the data.</param>
/// <param name="Training">The training recipe; its seed and device are replaced by <see cref="Seed"/> and <see cref="Device"/>.</param>
public sealed record SourceModelRecipe(ModelSpec Spec, TrainingOptions Training)
{
    /// <summary>Input normalisation inside the model; null = the training images' own channel statistics.</summary>
    public Normalization? Normalization { get; init; }

    /// <summary>Seed of the initial weights, batch order and augmentation (>= 0).</summary>
    public int Seed { get; init; }

    /// <summary>Where the model trains; null = <see cref="TrainingOptions.Device"/> of <see cref="Training"/>.</summary>
    public Device? Device { get; init; }

    /// <summary>
    /// SEP's recipe for <paramref name="epochs"/> epochs: <see cref="TrainingOptions.ForSep"/> (SGD lr 0.1 with warm-up
    /// and x0.1 steps, momentum 0.9, weight decay 5e-4, batch 128, a checkpoint every epoch) with random crop (4 pixels
    /// of padding) and horizontal flip.
    /// </summary>
    public static SourceModelRecipe ForSep(ModelSpec spec, int epochs)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new SourceModelRecipe(spec, TrainingOptions.ForSep(epochs) with { Augmentation = ComposedAugmentation.Cifar() });
    }

    /// <summary>The options the model actually trains with: <see cref="Training"/> with this recipe's seed and device.</summary>
    public TrainingOptions EffectiveTraining => Training with { Seed = Seed, Device = Device ?? Training.Device };

    /// <summary>
    /// The untrained source model for <paramref name="train"/> (its class names; its channel statistics unless
    /// <see cref="Normalization"/> is set), seeded, on the training device; <paramref name="families"/> is where the
    /// architecture is looked up (default: the built-in families).
    /// </summary>
    public Classifier CreateModel(IImageCollection train, ModelFamilyRegistry? families = null)
    {
        ArgumentNullException.ThrowIfNull(train);
        Require.AtLeast(Seed, 0, nameof(Seed));
        var options = EffectiveTraining;
        return Classifier.Create(Spec, Normalization ?? ChannelStatistics.Of(train), train.ClassNames, options.Device, Seed, families);
    }

    /// <summary>Trains <paramref name="model"/> (from <see cref="CreateModel"/>) on <paramref name="train"/>, keeping its checkpoints in <paramref name="checkpoints"/>.</summary>
    public TrainingResult Train(Classifier model, IImageCollection train, IImageCollection? test, CheckpointSet checkpoints,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(checkpoints);
        return new Trainer(EffectiveTraining).Train(model, train, test, checkpoints, progress, cancellationToken);
    }
}
