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
/// <param name="Training">The training recipe; its seed and device are replaced by <see cref="ModelRecipe.Seed"/> and <see cref="ModelRecipe.Device"/>.</param>
/// <remarks>A null <see cref="ModelRecipe.Normalization"/> means the training images' own channel statistics.</remarks>
public sealed record SourceModelRecipe(ModelSpec Spec, TrainingOptions Training) : ModelRecipe(Spec, Training)
{
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

    /// <summary>
    /// The untrained source model for <paramref name="train"/> (its class names; its channel statistics unless
    /// <see cref="Normalization"/> is set), seeded, on the training device; <paramref name="families"/> is where the
    /// architecture is looked up (default: the built-in families).
    /// </summary>
    public Classifier CreateModel(IImageCollection train, ModelFamilyRegistry? families = null)
    {
        ArgumentNullException.ThrowIfNull(train);
        Validate();
        var options = EffectiveTraining;
        return Classifier.Create(Spec, Normalization ?? ChannelStatistics.Of(train), train.ClassNames, options.Device, Seed, families);
    }

    /// <inheritdoc />
    protected override string NormalizationSummary => Normalization is null ? "the data's statistics" : base.NormalizationSummary;

    /// <summary>
    /// Trains <paramref name="model"/> (from <see cref="CreateModel"/>) on <paramref name="train"/>, keeping its checkpoints
    /// in <paramref name="checkpoints"/>. With <paramref name="resume"/>, a killed run continues exactly after its last
    /// checkpoint (see <see cref="Trainer"/>).
    /// </summary>
    public TrainingResult Train(Classifier model, IImageCollection train, IImageCollection? test, CheckpointSet checkpoints,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default, TrainingResumeState? resume = null)
    {
        ArgumentNullException.ThrowIfNull(checkpoints);
        return new Trainer(EffectiveTraining).Train(model, train, test, checkpoints, resume, progress, cancellationToken);
    }
}
