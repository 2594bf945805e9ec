using Robustness.Validation;
namespace Robustness.Training;

/// <summary>Shared argument checks and the linear warm-up used by the schedules.</summary>
internal static class ScheduleArguments
{
    public static void Check(double baseLearningRate, int epoch, int batchInEpoch, int batchesPerEpoch)
    {
        Require.Positive(baseLearningRate, nameof(baseLearningRate));
        Require.AtLeast(epoch, 0, nameof(epoch));
        Require.AtLeast(batchesPerEpoch, 1, nameof(batchesPerEpoch));
        if (batchInEpoch < 0 || batchInEpoch >= batchesPerEpoch)
            throw new ArgumentOutOfRangeException(nameof(batchInEpoch), batchInEpoch, $"batchInEpoch must be in [0, {batchesPerEpoch - 1}].");
    }

    /// <summary>
    /// The warm-up factor after <paramref name="stepsDone"/> of <paramref name="steps"/> steps, counting the current
    /// step as done (SEP's formula: start + (1 - start) * (b + 1) / B), so the last warm-up step reaches the target.
    /// </summary>
    public static double Warmup(double startFactor, long stepsDone, long steps) =>
        startFactor + (1 - startFactor) * stepsDone / steps;

    public static void CheckWarmup(int warmupEpochs, double warmupStartFactor)
    {
        Require.AtLeast(warmupEpochs, 0, nameof(warmupEpochs));
        if (!(warmupStartFactor >= 0 && warmupStartFactor <= 1))
            throw new ArgumentOutOfRangeException(nameof(warmupStartFactor), warmupStartFactor, "warmupStartFactor must be in [0, 1].");
    }
}
