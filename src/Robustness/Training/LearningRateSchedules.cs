namespace Robustness.Training;

/// <summary>Ready-made learning-rate schedules.</summary>
public static class LearningRateSchedules
{
    /// <summary>The base rate throughout.</summary>
    public static ILearningRateSchedule Constant { get; } = new ConstantLearningRate();

    /// <summary>
    /// SEP's source-model recipe (lr 0.1): epoch 0 warms up per batch from 0.01x to 1x the base rate (0.001 to
    /// 0.1), then x0.1 at 62.5% and 75% of the run, rounded down (at least one epoch apart): 120 epochs give steps at 75 and 90, the reduced
    /// 30-epoch recipe steps at 18 and 22.
    /// </summary>
    public static MultiStepLearningRate Sep(int epochs = 120)
    {
        if (epochs < 1) throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "SEP's schedule needs epochs >= 1.");
        // A one-epoch run is the warm-up alone: there is no later epoch to step down in.
        if (epochs == 1) return new MultiStepLearningRate([], gamma: 0.1, warmupEpochs: 1, warmupStartFactor: 0.01);
        int first = epochs * 75 / 120;
        // Very short runs would round both steps to the same epoch; keep them one epoch apart.
        int second = Math.Max(epochs * 90 / 120, first + 1);
        return new MultiStepLearningRate([first, second], gamma: 0.1, warmupEpochs: 1, warmupStartFactor: 0.01);
    }
}
