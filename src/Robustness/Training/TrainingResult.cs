namespace Robustness.Training;

/// <summary>What one epoch of training gave.</summary>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="TrainLoss">Mean training loss over the epoch (per image).</param>
/// <param name="TrainAccuracy">Share of training images (as the objective saw them) predicted correctly.</param>
/// <param name="LearningRate">Learning rate of the epoch's last step.</param>
/// <param name="ImagesPerSecond">Training throughput of the epoch, evaluation excluded.</param>
/// <param name="Test">Accuracy on the test collection, when evaluated after this epoch.</param>
/// <param name="Checkpointed">True when a snapshot of this epoch was kept.</param>
public sealed record EpochSummary(
    int Epoch,
    double TrainLoss,
    double TrainAccuracy,
    double LearningRate,
    double ImagesPerSecond,
    AccuracyReport? Test,
    bool Checkpointed);

/// <summary>The outcome of <see cref="Trainer"/>'s Train.</summary>
/// <param name="History">One entry per epoch trained by this call (a resumed run starts after the epoch it resumed from).</param>
/// <param name="Checkpoints">The snapshots kept, or null when the schedule keeps none. The caller owns (and disposes) the set.</param>
/// <param name="WallTime">Time the whole run took, evaluation and checkpoints included.</param>
public sealed record TrainingResult(IReadOnlyList<EpochSummary> History, CheckpointSet? Checkpoints, TimeSpan WallTime)
{
    /// <summary>The last epoch's summary.</summary>
    public EpochSummary Final => History[^1];
}
