using Robustness.Validation;
using Robustness.Models;
using static TorchSharp.torch;

namespace Robustness.Protection;

/// <summary>
/// Options of <see cref="ErrorMinimizingNoise"/>, with the defaults of sample-wise unlearnable examples (Huang et al.,
/// ICLR 2021): eps 8/255, 20 PGD steps of eps/10, 10 surrogate training batches per round, stop when the surrogate
/// classifies more than 99% of the perturbed training set correctly; SGD with lr 0.1, momentum 0.9, weight decay 5e-4,
/// batches of 512 taken in order (the public code, github.com/HanxunH/Unlearnable-Examples, perturbation.py: no
/// augmentation, noise starting at zero, constant learning rate). <see cref="MaxRounds"/> is our addition so that CPU
/// runs end.
/// </summary>
public sealed record ErrorMinimizingNoiseOptions : ProtectionOptions
{
    /// <summary>The surrogate's width when <see cref="Surrogate"/> is null: a <c>small-cnn</c> of width 16 (about 73k parameters), sized for CPUs.</summary>
    public const int DefaultSurrogateWidth = 16;

    /// <summary>
    /// Architecture of the surrogate model the noise is learnt against; null = <c>small-cnn</c> of width
    /// <see cref="DefaultSurrogateWidth"/>. The paper uses ResNet-18 (<c>new ModelSpec("resnet18")</c>), which is
    /// far slower on a CPU. Classes, input channels and image size are always taken from the protected collection.
    /// </summary>
    public ModelSpec? Surrogate { get; init; }

    /// <summary>Where the surrogate's architecture is looked up: the host's registry (a module's family) or, when null, the built-in families.</summary>
    public ModelFamilyRegistry? Families { get; init; }

    /// <summary>PGD steps per image and round that minimise the true label's cross-entropy (paper: 20; >= 1).</summary>
    public int PgdSteps { get; init; } = 20;

    /// <summary>PGD step size on the [0,1] scale; null = <see cref="ProtectionOptions.Epsilon"/> / 10 (paper: 0.8/255 at 8/255).</summary>
    public double? StepSize { get; init; }

    /// <summary>
    /// Start every image's noise uniform in [-eps, eps] instead of at zero (the public code's <c>--random_start</c>;
    /// off by default there and here).
    /// </summary>
    public bool RandomStart { get; init; }

    /// <summary>
    /// Draw the surrogate's training batches from a seeded shuffle of the collection instead of cycling through it in
    /// order (the public code cycles in order for sample-wise noise; off by default).
    /// </summary>
    public bool ShuffleBatches { get; init; }

    /// <summary>Surrogate SGD steps (batches) per round on the currently perturbed data (paper: 10; >= 1).</summary>
    public int TrainSteps { get; init; } = 10;

    /// <summary>
    /// The loop stops once the surrogate (eval mode) classifies more than this share of the perturbed training set
    /// correctly (paper: 0.99, i.e. a stop error of 0.01; in [0, 1]; 1 never stops before <see cref="MaxRounds"/>).
    /// The public code stops at accuracy &gt;= 0.99; the two differ only when the accuracy equals the threshold exactly.
    /// </summary>
    public double StopAccuracy { get; init; } = 0.99;

    /// <summary>
    /// The most rounds (train, then perturb every image) before the loop gives up (>= 1; default 20). The paper has no
    /// cap. When the cap stops the loop, the noise of the last round is used as it is: it is valid (within the
    /// budget) but may protect less; the session reports <see cref="ErrorMinimizingSession.Converged"/> = false and
    /// a warning is logged.
    /// </summary>
    public int MaxRounds { get; init; } = 20;

    /// <summary>Images per surrogate training step, per PGD batch and per accuracy check (paper's code: 512; >= 1).</summary>
    public int BatchSize { get; init; } = 512;

    /// <summary>Surrogate SGD learning rate (paper: 0.1; constant; &gt; 0).</summary>
    public double LearningRate { get; init; } = 0.1;

    /// <summary>Surrogate SGD momentum (paper: 0.9; in [0, 1)).</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>Surrogate SGD weight decay (paper: 5e-4; >= 0).</summary>
    public double WeightDecay { get; init; } = 5e-4;

    /// <summary>Where the surrogate trains and the noise is learnt; null = CPU. The noise itself is kept in CPU memory.</summary>
    public Device? Device { get; init; }

    /// <summary>The PGD step actually used: <see cref="StepSize"/>, or eps/10.</summary>
    public double EffectiveStepSize => StepSize ?? Epsilon / 10.0;

    /// <inheritdoc />
    public override ErrorMinimizingNoiseOptions Validate()
    {
        base.Validate();
        AtLeast(PgdSteps, 1, nameof(PgdSteps));
        if (StepSize is double step) InRange(step, double.Epsilon, 1, nameof(StepSize));
        AtLeast(TrainSteps, 1, nameof(TrainSteps));
        InRange(StopAccuracy, 0, 1, nameof(StopAccuracy));
        AtLeast(MaxRounds, 1, nameof(MaxRounds));
        AtLeast(BatchSize, 1, nameof(BatchSize));
        InRange(LearningRate, double.Epsilon, 10, nameof(LearningRate));
        Require.Momentum(Momentum, nameof(Momentum));
        InRange(WeightDecay, 0, 1, nameof(WeightDecay));
        Surrogate?.Validate();
        return this;
    }
}
