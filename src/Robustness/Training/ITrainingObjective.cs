using static TorchSharp.torch;

namespace Robustness.Training;

/// <summary>
/// What the trainer minimises on one batch. The default, <see cref="CrossEntropyObjective"/>, is standard training
/// on clean images; adversarial training (PGD-AT, TRADES, ...) plugs in here by crafting its own inputs inside
/// <see cref="Compute"/>, without any change to the <see cref="Trainer"/>.
/// </summary>
public interface ITrainingObjective
{
    /// <summary>
    /// The loss for a batch, ready for <c>backward()</c>, and the logits whose predictions count toward the
    /// training accuracy. The classifier is in training mode on entry; an objective that needs eval mode for a
    /// while (e.g. to craft adversarial examples) switches and switches back itself. Runs inside the trainer's
    /// per-batch dispose scope.
    /// </summary>
    /// <param name="classifier">The model being trained.</param>
    /// <param name="images">float32 [N, C, H, W] in [0,1] on the training device, already augmented.</param>
    /// <param name="labels">int64 [N].</param>
    /// <param name="step">Where in training this batch is, with the run's random source.</param>
    ObjectiveOutput Compute(Classifier classifier, Tensor images, Tensor labels, TrainingStep step);
}

/// <summary>The loss of one batch (a scalar, mean over the batch) and the logits used for training accuracy.</summary>
/// <param name="Loss">Scalar loss with a gradient.</param>
/// <param name="Logits">[N, Classes]; their argmax counts toward training accuracy.</param>
/// <param name="Terms">Optional parts of the loss to report, [K] (e.g. PwoA's distillation, HSIC and ADMM terms); averaged per epoch.</param>
public readonly record struct ObjectiveOutput(Tensor Loss, Tensor Logits, Tensor? Terms = null);

/// <summary>Where in training a batch is.</summary>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="Batch">0-based batch within the epoch.</param>
/// <param name="BatchesPerEpoch">Batches per epoch.</param>
/// <param name="Epochs">Epochs in the run.</param>
/// <param name="Random">The run's seeded random source (shared with shuffling and augmentation).</param>
public readonly record struct TrainingStep(int Epoch, int Batch, int BatchesPerEpoch, int Epochs, Random Random);

/// <summary>Cross-entropy on the (augmented) clean images: standard training.</summary>
public sealed class CrossEntropyObjective : ITrainingObjective
{
    /// <summary>The shared instance.</summary>
    public static CrossEntropyObjective Instance { get; } = new();

    /// <inheritdoc />
    public ObjectiveOutput Compute(Classifier classifier, Tensor images, Tensor labels, TrainingStep step)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        var logits = classifier.Forward(images);
        return new ObjectiveOutput(nn.functional.cross_entropy(logits, labels), logits);
    }

    /// <inheritdoc />
    public override string ToString() => "cross-entropy";
}
