using Robustness.Validation;
using System.Globalization;

namespace Robustness.Training;

/// <summary>
/// Cosine decay per batch from the base rate to <see cref="FloorFactor"/> times the base rate over all steps of
/// <see cref="Epochs"/> epochs (after an optional per-batch linear warm-up): at step s of the T steps after the
/// warm-up, rate = floor + (base - floor) * (1 + cos(pi * s / T)) / 2. The first step gets the full rate; the
/// floor is reached at the end of training and kept after it.
/// </summary>
public sealed class CosineLearningRate : ILearningRateSchedule
{
    /// <summary>Creates the schedule for a run of <paramref name="epochs"/> epochs.</summary>
    public CosineLearningRate(int epochs, double floorFactor = 0, int warmupEpochs = 0, double warmupStartFactor = 0.01)
    {
        Require.AtLeast(epochs, 1, nameof(epochs));
        if (!(floorFactor >= 0 && floorFactor <= 1)) throw new ArgumentOutOfRangeException(nameof(floorFactor), floorFactor, "floorFactor must be in [0, 1].");
        ScheduleArguments.CheckWarmup(warmupEpochs, warmupStartFactor);
        if (warmupEpochs >= epochs)
            throw new ArgumentOutOfRangeException(nameof(warmupEpochs), warmupEpochs, $"warmupEpochs must be < epochs ({epochs}).");
        Epochs = epochs;
        FloorFactor = floorFactor;
        WarmupEpochs = warmupEpochs;
        WarmupStartFactor = warmupStartFactor;
    }

    /// <summary>Length of the run the cosine spans.</summary>
    public int Epochs { get; }

    /// <summary>The final rate as a fraction of the base rate.</summary>
    public double FloorFactor { get; }

    /// <summary>Epochs of per-batch linear warm-up at the start (0 = none).</summary>
    public int WarmupEpochs { get; }

    /// <summary>The warm-up starts from this fraction of the rate.</summary>
    public double WarmupStartFactor { get; }

    /// <inheritdoc />
    public double LearningRate(double baseLearningRate, int epoch, int batchInEpoch, int batchesPerEpoch)
    {
        ScheduleArguments.Check(baseLearningRate, epoch, batchInEpoch, batchesPerEpoch);
        long step = (long)epoch * batchesPerEpoch + batchInEpoch;
        long warmupSteps = (long)WarmupEpochs * batchesPerEpoch;
        if (step < warmupSteps) return baseLearningRate * ScheduleArguments.Warmup(WarmupStartFactor, step + 1, warmupSteps);
        long decaySteps = (long)Epochs * batchesPerEpoch - warmupSteps;
        double progress = Math.Min(1.0, (double)(step - warmupSteps) / decaySteps);
        double factor = FloorFactor + (1 - FloorFactor) * (1 + Math.Cos(Math.PI * progress)) / 2;
        return baseLearningRate * factor;
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"cosine(epochs={Epochs}, floor=x{FloorFactor}, warmup={WarmupEpochs} epoch(s) from x{WarmupStartFactor})");
}
