namespace Robustness.Training;

/// <summary>A progress report of the <see cref="Trainer"/>, sent every few batches and at the end of each epoch.</summary>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="Epochs">Epochs in the run.</param>
/// <param name="Batch">Batches done in this epoch (1 to <paramref name="BatchesPerEpoch"/>).</param>
/// <param name="BatchesPerEpoch">Batches per epoch.</param>
/// <param name="Loss">Mean training loss over this epoch's batches so far.</param>
/// <param name="LearningRate">The learning rate of the latest step.</param>
/// <param name="ImagesPerSecond">Training throughput in this epoch so far.</param>
/// <param name="Elapsed">Time since training started.</param>
public sealed record TrainingProgress(
    int Epoch,
    int Epochs,
    int Batch,
    int BatchesPerEpoch,
    double Loss,
    double LearningRate,
    double ImagesPerSecond,
    TimeSpan Elapsed);
