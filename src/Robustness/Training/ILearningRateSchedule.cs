namespace Robustness.Training;

/// <summary>
/// The learning rate of every optimisation step. Schedules are recipes relative to the base learning rate
/// (<see cref="TrainingOptions.LearningRate"/>), like PyTorch's schedulers, so one recipe serves any base rate.
/// The trainer asks once per batch, which allows per-batch warm-up and cosine decay.
/// </summary>
public interface ILearningRateSchedule
{
    /// <summary>
    /// The learning rate for batch <paramref name="batchInEpoch"/> (0-based) of epoch <paramref name="epoch"/>
    /// (0-based) when an epoch has <paramref name="batchesPerEpoch"/> batches.
    /// </summary>
    double LearningRate(double baseLearningRate, int epoch, int batchInEpoch, int batchesPerEpoch);
}
