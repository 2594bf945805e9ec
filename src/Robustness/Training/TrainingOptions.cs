using Robustness.Validation;
using Robustness.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Training;

/// <summary>
/// How the <see cref="Trainer"/> trains: SGD with momentum and weight decay under a learning-rate schedule.
/// Defaults follow SEP's CIFAR recipe (lr 0.1, momentum 0.9, weight decay 5e-4, batch 128) with a constant rate;
/// <see cref="ForSep"/> gives the full recipe. <see cref="Validate"/> names the first option out of range.
/// </summary>
public sealed record TrainingOptions
{
    /// <summary>Passes over the training set (>= 1).</summary>
    public int Epochs { get; init; } = 30;

    /// <summary>Images per optimisation step (>= 1).</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>Base learning rate (&gt; 0), scaled per step by <see cref="Schedule"/>.</summary>
    public double LearningRate { get; init; } = 0.1;

    /// <summary>SGD momentum, in [0, 1).</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>Nesterov momentum (needs <see cref="Momentum"/> &gt; 0).</summary>
    public bool Nesterov { get; init; }

    /// <summary>L2 weight decay (>= 0), applied by SGD to every parameter as in PyTorch.</summary>
    public double WeightDecay { get; init; } = 5e-4;

    /// <summary>Learning rate per step, relative to <see cref="LearningRate"/>.</summary>
    public ILearningRateSchedule Schedule { get; init; } = LearningRateSchedules.Constant;

    /// <summary>
    /// Seed (>= 0) for the batch order and augmentation (System.Random) and for anything torch draws
    /// (torch.random.manual_seed). The same seed and initial weights give the same trained weights on the CPU.
    /// </summary>
    public int Seed { get; init; }

    /// <summary>Where training runs; the classifier is moved there. CPU by default.</summary>
    public Device Device { get; init; } = torch.CPU;

    /// <summary>Random batch augmentation (crop, flip, ...); null for none.</summary>
    public IBatchAugmentation? Augmentation { get; init; }

    /// <summary>Which epochs to keep a snapshot of.</summary>
    public CheckpointSchedule Checkpoints { get; init; } = CheckpointSchedule.None;

    /// <summary>Leave out a final batch smaller than <see cref="BatchSize"/> (batch-norm dislikes tiny batches).</summary>
    public bool DropLast { get; init; }

    /// <summary>Batches between progress reports (>= 1). Each report reads the running loss, a device sync.</summary>
    public int ProgressInterval { get; init; } = 50;

    /// <summary>Epochs between evaluations on the test collection, when one is given (>= 1); the final epoch is always evaluated.</summary>
    public int EvaluationInterval { get; init; } = 1;

    /// <summary>Images per forward pass when evaluating (>= 1).</summary>
    public int EvaluationBatchSize { get; init; } = 256;

    /// <summary>
    /// SEP's source-model recipe for <paramref name="epochs"/> epochs: lr 0.1 with a per-batch warm-up over epoch 0
    /// from 0.001 and x0.1 steps (see <see cref="LearningRateSchedules.Sep"/>), momentum 0.9, weight decay 5e-4,
    /// batch 128, a checkpoint after every epoch. Augmentation (random crop 32 pad 4, horizontal flip) is set by
    /// the caller.
    /// </summary>
    public static TrainingOptions ForSep(int epochs = 120) => new()
    {
        Epochs = epochs,
        BatchSize = 128,
        LearningRate = 0.1,
        Momentum = 0.9,
        WeightDecay = 5e-4,
        Schedule = LearningRateSchedules.Sep(epochs),
        Checkpoints = CheckpointSchedule.EveryEpoch,
    };

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> (or <see cref="ArgumentNullException"/>) naming the first bad option.</summary>
    public TrainingOptions Validate()
    {
        Require.AtLeast(Epochs, 1, nameof(Epochs));
        Require.BatchSize(BatchSize, nameof(BatchSize));
        Require.Positive(LearningRate, nameof(LearningRate));
        Require.Momentum(Momentum, nameof(Momentum));
        if (Nesterov && Momentum == 0)
            throw new ArgumentOutOfRangeException(nameof(Nesterov), Nesterov, "Nesterov needs Momentum in (0, 1); Momentum is 0.");
        if (!(WeightDecay >= 0) || !double.IsFinite(WeightDecay))
            throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "WeightDecay must be a finite number >= 0.");
        if (Schedule is null) throw new ArgumentNullException(nameof(Schedule), "Schedule must be set (e.g. LearningRateSchedules.Constant).");
        Require.AtLeast(Seed, 0, nameof(Seed));
        if (Device is null) throw new ArgumentNullException(nameof(Device), "Device must be set (e.g. torch.CPU).");
        if (Checkpoints is null) throw new ArgumentNullException(nameof(Checkpoints), "Checkpoints must be set (CheckpointSchedule.None keeps none).");
        Checkpoints.Validate(Epochs, nameof(Checkpoints));
        if (ProgressInterval < 1) throw new ArgumentOutOfRangeException(nameof(ProgressInterval), ProgressInterval, "ProgressInterval must be >= 1 batch.");
        if (EvaluationInterval < 1) throw new ArgumentOutOfRangeException(nameof(EvaluationInterval), EvaluationInterval, "EvaluationInterval must be >= 1 epoch.");
        Require.BatchSize(EvaluationBatchSize, nameof(EvaluationBatchSize));
        return this;
    }
}
