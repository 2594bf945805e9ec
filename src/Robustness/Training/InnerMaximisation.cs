using Robustness.Attacks;
using Robustness.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Training;

/// <summary>
/// The inner maximisation of adversarial training: projected steepest ascent of a per-image loss inside the
/// budget ball around the clean images (PGD; Madry et al., 2018). Kept apart from the attack suite because the
/// training objectives need it with their own losses (TRADES ascends a KL divergence) and in the train/eval mode
/// they choose; the arithmetic is <see cref="AttackMath"/>'s.
/// </summary>
internal static class InnerMaximisation
{
    /// <summary>
    /// <paramref name="steps"/> steps of size <paramref name="stepSize"/> from <paramref name="start"/>, each followed by
    /// the projection onto the <paramref name="norm"/> ball of radius <paramref name="epsilon"/> around
    /// <paramref name="clean"/> and onto [0,1]. Runs in the classifier's current mode; only the input gets a
    /// gradient. The result is detached, in the caller's dispose scope; <paramref name="start"/> stays the caller's.
    /// </summary>
    public static Tensor Ascend(Classifier classifier, Tensor clean, Tensor start, Func<Tensor, Tensor> perSampleLoss,
        Norm norm, double epsilon, double stepSize, int steps)
    {
        var current = start.detach();
        using var stepLength = stepSize.ToScalar();
        for (int s = 0; s < steps; s++)
        {
            using var step = torch.NewDisposeScope();
            var gradient = AttackMath.InputGradient(classifier, current, perSampleLoss);
            // Multiplication commutes exactly in IEEE arithmetic: the same values as stepSize * direction.
            var moved = current + AttackMath.SteepestDirection(gradient, norm) * stepLength;
            var next = (clean + AttackMath.Project(moved - clean, norm, epsilon)).clamp(Scalars.Zero, Scalars.One).detach().MoveToOuterDisposeScope();
            if (s > 0) current.Dispose(); // the previous iterate; the first one is the caller's start
            current = next;
        }
        return current;
    }

    /// <summary>A CPU generator seeded from the training run's random source, so each batch draws fresh noise and a run is reproducible.</summary>
    public static Generator GeneratorFor(TrainingStep step) =>
        new((ulong)(step.Random ?? throw new ArgumentException("The training step carries no random source.", nameof(step))).NextInt64(long.MaxValue));
}
