namespace Robustness.Training;

/// <summary>The base learning rate at every step.</summary>
public sealed class ConstantLearningRate : ILearningRateSchedule
{
    /// <inheritdoc />
    public double LearningRate(double baseLearningRate, int epoch, int batchInEpoch, int batchesPerEpoch)
    {
        ScheduleArguments.Check(baseLearningRate, epoch, batchInEpoch, batchesPerEpoch);
        return baseLearningRate;
    }

    /// <inheritdoc />
    public override string ToString() => "constant";
}
