using System.Globalization;

namespace Robustness.Training;

/// <summary>
/// Step decay: the base rate times <see cref="Gamma"/> to the power of the number of milestones reached
/// (epoch index &gt;= milestone), as PyTorch's MultiStepLR stepped once per epoch. Optionally the first
/// <see cref="WarmupEpochs"/> epochs rise linearly per batch from <see cref="WarmupStartFactor"/> times the rate
/// to the rate (SEP: 0.001 to 0.1 over the batches of epoch 0).
/// </summary>
public sealed class MultiStepLearningRate : ILearningRateSchedule
{
    private readonly int[] _milestones;

    /// <summary>Creates the schedule; milestones are 0-based epoch indices at which the rate is multiplied by <paramref name="gamma"/>.</summary>
    public MultiStepLearningRate(IReadOnlyList<int> milestones, double gamma = 0.1, int warmupEpochs = 0, double warmupStartFactor = 0.01)
    {
        ArgumentNullException.ThrowIfNull(milestones);
        for (int i = 0; i < milestones.Count; i++)
        {
            if (milestones[i] < 1) throw new ArgumentOutOfRangeException(nameof(milestones), milestones[i], "Every milestone must be an epoch index >= 1.");
            if (i > 0 && milestones[i] <= milestones[i - 1])
                throw new ArgumentOutOfRangeException(nameof(milestones), milestones[i], "Milestones must be strictly increasing.");
        }
        if (!(gamma > 0 && gamma <= 1)) throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "gamma must be in (0, 1].");
        ScheduleArguments.CheckWarmup(warmupEpochs, warmupStartFactor);
        _milestones = milestones.ToArray();
        Gamma = gamma;
        WarmupEpochs = warmupEpochs;
        WarmupStartFactor = warmupStartFactor;
    }

    /// <summary>The 0-based epoch indices from which the rate is multiplied by <see cref="Gamma"/> once more.</summary>
    public IReadOnlyList<int> Milestones => _milestones;

    /// <summary>The decay factor at each milestone.</summary>
    public double Gamma { get; }

    /// <summary>Epochs of per-batch linear warm-up at the start (0 = none).</summary>
    public int WarmupEpochs { get; }

    /// <summary>The warm-up starts from this fraction of the rate.</summary>
    public double WarmupStartFactor { get; }

    /// <inheritdoc />
    public double LearningRate(double baseLearningRate, int epoch, int batchInEpoch, int batchesPerEpoch)
    {
        ScheduleArguments.Check(baseLearningRate, epoch, batchInEpoch, batchesPerEpoch);
        int reached = 0;
        while (reached < _milestones.Length && epoch >= _milestones[reached]) reached++;
        double rate = baseLearningRate * Math.Pow(Gamma, reached);
        if (epoch >= WarmupEpochs) return rate;
        long stepsDone = (long)epoch * batchesPerEpoch + batchInEpoch + 1;
        return rate * ScheduleArguments.Warmup(WarmupStartFactor, stepsDone, (long)WarmupEpochs * batchesPerEpoch);
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"multistep(milestones=[{string.Join(",", _milestones)}], gamma={Gamma}, warmup={WarmupEpochs} epoch(s) from x{WarmupStartFactor})");
}
