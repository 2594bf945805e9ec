using Robustness.Validation;
using Robustness.Data;

namespace Robustness.Pruning;

/// <summary>
/// How <see cref="Pwoa"/> prunes. The defaults are the paper's CIFAR-10 recipe (from the public code): 4x
/// (p = 0.75); ADMM for 50 epochs with rho 0.01 x1.35 every 3 epochs capped at 1 and the lr cycle 0.01, 0.001,
/// 0.0001; hard prune; masked retraining for 100 epochs at lr 0.005 with cosine decay to 4e-8 per step; SGD momentum
/// 0.9, weight decay 1e-4; batch 128; self-distillation T = 30, alpha = 10; HSIC lambda_x 2e-5, lambda_y 1e-4
/// (sigma 5, eps 1e-5) in the retraining phase only; random crop (pad 4) and horizontal flip. <see cref="FastCpu"/>
/// is a short profile for two CPU cores. The paper's ablations are settings: distillation only (LambdaX = LambdaY = 0)
/// and HSIC only (DistillationAlpha = 0). <see cref="Validate"/> names the first option out of range.
/// </summary>
public sealed record PwoaOptions
{
    /// <summary>Fraction of weights zeroed in every pruned layer, in [0, 1) (2x: 0.5, 4x: 0.75, 8x: 0.875, 16x: 0.9375).</summary>
    public double Sparsity { get; init; } = 0.75;

    /// <summary>Images per step (>= 2: HSIC compares samples within a batch).</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>Epochs of the ADMM phase (>= 0; 0 goes straight to the hard prune).</summary>
    public int AdmmEpochs { get; init; } = 50;

    /// <summary>rho and the lr cycle of the ADMM phase.</summary>
    public AdmmSchedule Admm { get; init; } = new();

    /// <summary>Base learning rate of the ADMM phase (&gt; 0), cycled by <see cref="Admm"/>.</summary>
    public double AdmmLearningRate { get; init; } = 0.01;

    /// <summary>Epochs of masked retraining (>= 0).</summary>
    public int RetrainEpochs { get; init; } = 100;

    /// <summary>Initial learning rate of masked retraining (&gt; 0).</summary>
    public double RetrainLearningRate { get; init; } = 0.005;

    /// <summary>Learning rate that the per-step cosine reaches at the end of retraining (in [0, RetrainLearningRate]).</summary>
    public double RetrainFinalLearningRate { get; init; } = 4e-8;

    /// <summary>SGD momentum in [0, 1), both phases.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>SGD weight decay (>= 0), both phases.</summary>
    public double WeightDecay { get; init; } = 1e-4;

    /// <summary>Distillation temperature T (&gt; 0).</summary>
    public double Temperature { get; init; } = SelfDistillationLoss.DefaultTemperature;

    /// <summary>Distillation weight alpha (>= 0; 10 for CIFAR-10 and MNIST, 100 for CIFAR-100; 0 drops the term).</summary>
    public double DistillationAlpha { get; init; } = SelfDistillationLoss.DefaultAlpha;

    /// <summary>Weight of nHSIC(Z_j, X) per layer (>= 0; MNIST 2e-4, CIFAR-10 2e-5, CIFAR-100 5e-7).</summary>
    public double LambdaX { get; init; } = 2e-5;

    /// <summary>Weight of nHSIC(Z_j, Y) per layer (>= 0; MNIST 5e-5, CIFAR-10 1e-4, CIFAR-100 2e-6).</summary>
    public double LambdaY { get; init; } = 1e-4;

    /// <summary>Gaussian kernel bandwidth sigma (&gt; 0).</summary>
    public double HsicSigma { get; init; } = Hsic.DefaultSigma;

    /// <summary>eps of the normalised HSIC (&gt; 0).</summary>
    public double HsicEpsilon { get; init; } = Hsic.DefaultEpsilon;

    /// <summary>Compute HSIC in float64 (the m x m solves are ill-conditioned at eps 1e-5; slower on GPUs).</summary>
    public bool HsicFloat64 { get; init; }

    /// <summary>Also use the HSIC term in the ADMM phase (the public code uses it only in retraining).</summary>
    public bool HsicInAdmm { get; init; }

    /// <summary>The representations Z_j; null = <see cref="RepresentationLayer.Defaults"/> of the architecture.</summary>
    public IReadOnlyList<RepresentationLayer>? RepresentationLayers { get; init; }

    /// <summary>Random augmentation of each batch (default: crop with padding 4 and horizontal flip); null for none.</summary>
    public IBatchAugmentation? Augmentation { get; init; } = ComposedAugmentation.Cifar();

    /// <summary>Seed (>= 0) of the batch order, the augmentation and torch's generator: the same seed gives the same student on the CPU.</summary>
    public int Seed { get; init; }

    /// <summary>Batches between progress reports (>= 1).</summary>
    public int ProgressInterval { get; init; } = 50;

    /// <summary>The paper's CIFAR-10 recipe at <paramref name="sparsity"/> (the defaults).</summary>
    public static PwoaOptions Paper(double sparsity = 0.75) => new() { Sparsity = sparsity };

    /// <summary>
    /// A short run for two CPU cores and small models (minutes on a few thousand 32x32 images with SmallCnn): 6 ADMM
    /// epochs in 2-epoch cycles (lr, lr/10) with rho from 0.1 (so that ADMM pulls towards the sparse set in the few
    /// epochs there are), 6 epochs of masked retraining with a cosine from 0.005, batch 64; otherwise the paper's
    /// settings. Not the paper's numbers: a way to see the method work on a laptop.
    /// </summary>
    public static PwoaOptions FastCpu(double sparsity = 0.75) => new()
    {
        Sparsity = sparsity,
        BatchSize = 64,
        AdmmEpochs = 6,
        Admm = new AdmmSchedule(InitialRho: 0.1, RhoGrowth: 1.35, MaxRho: 1.0, CycleEpochs: 2),
        RetrainEpochs = 6,
    };

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> (or <see cref="ArgumentNullException"/>) naming the first bad option.</summary>
    public PwoaOptions Validate()
    {
        Require.Sparsity(Sparsity, nameof(Sparsity));
        Require.AtLeast(BatchSize, 2, nameof(BatchSize), "HSIC compares the samples of a batch");
        Require.AtLeast(AdmmEpochs, 0, nameof(AdmmEpochs));
        if (Admm is null) throw new ArgumentNullException(nameof(Admm), "Admm must be set (new AdmmSchedule() for the paper's).");
        Admm.Validate();
        Require.Positive(AdmmLearningRate, nameof(AdmmLearningRate));
        Require.AtLeast(RetrainEpochs, 0, nameof(RetrainEpochs));
        Require.Positive(RetrainLearningRate, nameof(RetrainLearningRate));
        if (!(RetrainFinalLearningRate >= 0 && RetrainFinalLearningRate <= RetrainLearningRate))
            throw new ArgumentOutOfRangeException(nameof(RetrainFinalLearningRate), RetrainFinalLearningRate, $"RetrainFinalLearningRate must be in [0, RetrainLearningRate ({RetrainLearningRate})].");
        Require.Momentum(Momentum, nameof(Momentum));
        Require.NonNegative(WeightDecay, nameof(WeightDecay));
        Require.Positive(Temperature, nameof(Temperature));
        Require.NonNegative(DistillationAlpha, nameof(DistillationAlpha));
        Require.NonNegative(LambdaX, nameof(LambdaX));
        Require.NonNegative(LambdaY, nameof(LambdaY));
        if (DistillationAlpha == 0 && !UsesHsic)
            throw new ArgumentOutOfRangeException(nameof(DistillationAlpha), DistillationAlpha, "DistillationAlpha is 0 and so are LambdaX and LambdaY: retraining would have no loss; make at least one > 0.");
        Require.Positive(HsicSigma, nameof(HsicSigma));
        Require.Positive(HsicEpsilon, nameof(HsicEpsilon));
        if (RepresentationLayers is { Count: 0 })
            throw new ArgumentOutOfRangeException(nameof(RepresentationLayers), 0, "RepresentationLayers must be null (the architecture's defaults) or name at least one layer.");
        Require.AtLeast(Seed, 0, nameof(Seed));
        if (ProgressInterval < 1) throw new ArgumentOutOfRangeException(nameof(ProgressInterval), ProgressInterval, "ProgressInterval must be >= 1 batch.");
        return this;
    }

    /// <summary>True when the HSIC term is active (some lambda is non-zero).</summary>
    public bool UsesHsic => LambdaX > 0 || LambdaY > 0;
}
