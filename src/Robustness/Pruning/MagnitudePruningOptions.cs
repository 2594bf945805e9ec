using Robustness.Validation;
using Robustness.Data;

namespace Robustness.Pruning;

/// <summary>
/// How <see cref="MagnitudePruner"/> prunes: one-shot magnitude pruning to <see cref="Sparsity"/> per layer, then masked
/// fine-tuning. The defaults give the baselines the same fine-tuning budget as PwoA's retraining (100 epochs, SGD
/// momentum 0.9, weight decay 1e-4, lr 0.005 with a per-step cosine to 4e-8, batch 128, crop + flip), so the
/// comparison isolates the objective. <see cref="Validate"/> names the first option out of range.
/// </summary>
public sealed record MagnitudePruningOptions
{
    /// <summary>Fraction of weights zeroed in every pruned layer, in [0, 1).</summary>
    public double Sparsity { get; init; } = 0.75;

    /// <summary>Images per step (>= 1).</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>Epochs of masked fine-tuning (>= 0).</summary>
    public int Epochs { get; init; } = 100;

    /// <summary>Initial learning rate (&gt; 0).</summary>
    public double LearningRate { get; init; } = 0.005;

    /// <summary>Final learning rate of the per-step cosine (in [0, LearningRate]).</summary>
    public double FinalLearningRate { get; init; } = 4e-8;

    /// <summary>SGD momentum in [0, 1).</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>SGD weight decay (>= 0).</summary>
    public double WeightDecay { get; init; } = 1e-4;

    /// <summary>Random augmentation of each batch (default crop with padding 4 and flip); null for none.</summary>
    public IBatchAugmentation? Augmentation { get; init; } = ComposedAugmentation.Cifar();

    /// <summary>Seed (>= 0) of the batch order, the augmentation and torch's generator.</summary>
    public int Seed { get; init; }

    /// <summary>Batches between progress reports (>= 1).</summary>
    public int ProgressInterval { get; init; } = 50;

    /// <summary>The paper-scale baseline at <paramref name="sparsity"/> (the defaults: 100 epochs, as PwoA's retraining).</summary>
    public static MagnitudePruningOptions Paper(double sparsity = 0.75) => new() { Sparsity = sparsity };

    /// <summary>
    /// The short CPU run matching <see cref="PwoaOptions.FastCpu"/>'s retraining: 6 epochs of masked fine-tuning with a
    /// cosine from 0.005, batch 64; otherwise the defaults.
    /// </summary>
    public static MagnitudePruningOptions FastCpu(double sparsity = 0.75) => new() { Sparsity = sparsity, BatchSize = 64, Epochs = 6 };

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first bad option.</summary>
    public MagnitudePruningOptions Validate()
    {
        Require.Sparsity(Sparsity, nameof(Sparsity));
        Require.BatchSize(BatchSize, nameof(BatchSize));
        Require.AtLeast(Epochs, 0, nameof(Epochs));
        Require.Positive(LearningRate, nameof(LearningRate));
        if (!(FinalLearningRate >= 0 && FinalLearningRate <= LearningRate))
            throw new ArgumentOutOfRangeException(nameof(FinalLearningRate), FinalLearningRate, $"FinalLearningRate must be in [0, LearningRate ({LearningRate})].");
        Require.Momentum(Momentum, nameof(Momentum));
        if (!(WeightDecay >= 0) || !double.IsFinite(WeightDecay)) throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "WeightDecay must be a finite number >= 0.");
        Require.AtLeast(Seed, 0, nameof(Seed));
        if (ProgressInterval < 1) throw new ArgumentOutOfRangeException(nameof(ProgressInterval), ProgressInterval, "ProgressInterval must be >= 1 batch.");
        return this;
    }
}
