using Robustness.Data;
using Robustness.Models;
using Robustness.Training;
using static TorchSharp.torch;

namespace Robustness.Protection;

/// <summary>
/// How <see cref="ProtectionEvaluation"/> trains a victim: its architecture, its training recipe, its input
/// normalisation (null = none), a seed and a device. The victim's architecture is independent of the protector's: a
/// protector never knows who will train on its output. Victims keep no checkpoints.
/// </summary>
/// <param name="Spec">The victim's architecture. Its class count and input channels must match the data.</param>
/// <param name="Training">The training recipe. Its checkpoint schedule is ignored (victims keep no checkpoints); its
/// seed and device are replaced by <see cref="ModelRecipe.Seed"/> and <see cref="ModelRecipe.Device"/>.</param>
public sealed record VictimRecipe(ModelSpec Spec, TrainingOptions Training) : ModelRecipe(Spec, Training)
{
    /// <summary>
    /// SEP's evaluation recipe (SEP.md, step 3: the source model's recipe): <see cref="TrainingOptions.ForSep"/> for
    /// <paramref name="epochs"/> epochs (SGD lr 0.1 with warm-up and x0.1 steps, momentum 0.9, weight decay 5e-4, batch
    /// 128), random crop with 4 pixels of padding and horizontal flip (<see cref="ComposedAugmentation.Cifar"/>), CIFAR-10
    /// normalisation, no checkpoints.
    /// </summary>
    public static VictimRecipe ForSep(ModelSpec spec, int epochs = 120)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new VictimRecipe(spec, TrainingOptions.ForSep(epochs) with
        {
            Checkpoints = CheckpointSchedule.None,
            Augmentation = ComposedAugmentation.Cifar(),
        })
        {
            Normalization = Robustness.Normalization.Cifar10,
        };
    }

    /// <summary>
    /// What the victim minimises: null for plain cross-entropy, or an adversarial-training objective (PGD-AT, TRADES),
    /// the known counter to availability poisons.
    /// </summary>
    public Training.ITrainingObjective? Objective { get; init; }

    /// <summary>The training options a victim actually trains with: <see cref="ModelRecipe.Training"/> with this recipe's seed and device, and no checkpoints.</summary>
    public override TrainingOptions EffectiveTraining => base.EffectiveTraining with { Checkpoints = CheckpointSchedule.None };

    /// <inheritdoc />
    public override VictimRecipe Validate()
    {
        base.Validate();
        return this;
    }
}
