using Robustness.Attacks;
using Robustness.Optimization;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Training;

/// <summary>
/// The inner maximisation of adversarial training (PGD; Madry et al., 2018) as the training objectives use it: the
/// projected-gradient engine (<see cref="ProjectedGradientMethod"/>) ascending a per-image loss of the classifier
/// (cross-entropy; TRADES' KL divergence) in the norm ball around the clean images, in the mode the objective chooses.
/// </summary>
internal static class InnerMaximisation
{
    /// <summary>
    /// <paramref name="steps"/> ascent steps of size <paramref name="stepSize"/> from <paramref name="start"/>, each
    /// projected onto the <paramref name="norm"/> ball of radius <paramref name="epsilon"/> around <paramref name="clean"/>
    /// and onto [0,1], with the classifier in <paramref name="mode"/>. The result is detached, in the caller's scope.
    /// </summary>
    public static Tensor Ascend(Classifier classifier, Tensor clean, Tensor start, Func<Tensor, Tensor> perSampleLoss,
        Norm norm, double epsilon, double stepSize, int steps, ModelMode mode) =>
        new ProjectedGradientMethod(new SteepestStep(norm, stepSize), StepDirection.Ascend)
            .Run(start, new NormBall(clean, norm, epsilon), new ClassifierLoss(classifier, perSampleLoss, mode), steps);

    /// <summary>A CPU generator seeded from the training run's random source, so each batch draws fresh noise and a run is reproducible.</summary>
    public static Generator GeneratorFor(TrainingStep step) =>
        new((ulong)(step.Random ?? throw new ArgumentException("The training step carries no random source.", nameof(step))).NextInt64(long.MaxValue));
}
