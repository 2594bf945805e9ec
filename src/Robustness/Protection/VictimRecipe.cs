using Robustness.Validation;
using Robustness.Data;
using Robustness.Models;
using Robustness.Training;
using static TorchSharp.torch;

namespace Robustness.Protection;

/// <summary>
/// How <see cref="ProtectionEvaluation"/> trains a victim: its architecture, its training recipe, its input
/// normalisation, a seed and a device. The victim's architecture is independent of the protector's: a protector never
/// knows who will train on its output.
/// </summary>
/// <param name="Spec">The victim's architecture. Its class count and input channels must match the data.</param>
/// <param name="Training">The training recipe. Its checkpoint schedule is ignored (victims keep no checkpoints); its
/// seed and device are replaced by <see cref="Seed"/> and <see cref="Device"/>.</param>
public sealed record VictimRecipe(ModelSpec Spec, TrainingOptions Training)
{
    /// <summary>Input normalisation inside the victim; null = none (identity).</summary>
    public Normalization? Normalization { get; init; }

    /// <summary>Seed of the victim's initial weights, batch order and augmentation (>= 0). Both victims of an evaluation use it.</summary>
    public int Seed { get; init; }

    /// <summary>Where the victims train and are evaluated; null = <see cref="TrainingOptions.Device"/> of <see cref="Training"/>.</summary>
    public Device? Device { get; init; }

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

    /// <summary>The training options a victim actually trains with: <see cref="Training"/> with this recipe's seed and device, and no checkpoints.</summary>
    public TrainingOptions EffectiveTraining => Training with
    {
        Seed = Seed,
        Device = Device ?? Training.Device,
        Checkpoints = CheckpointSchedule.None,
    };

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> or <see cref="ArgumentNullException"/> naming the first bad field.</summary>
    public VictimRecipe Validate()
    {
        if (Spec is null) throw new ArgumentNullException(nameof(Spec), "Spec must be set (the victim's architecture).");
        if (Training is null) throw new ArgumentNullException(nameof(Training), "Training must be set (e.g. TrainingOptions.ForSep(30)).");
        Spec.Validate();
        Require.AtLeast(Seed, 0, nameof(Seed));
        if (Normalization is not null && Normalization.Channels != Spec.InputChannels)
            throw new ArgumentOutOfRangeException(nameof(Normalization), Normalization.Channels, $"Normalization has {Normalization.Channels} channels; the victim takes {Spec.InputChannels}.");
        EffectiveTraining.Validate();
        return this;
    }

    /// <summary>A one-line description for reports: architecture, width, epochs, batch, learning rate, augmentation, seed.</summary>
    public string Summary()
    {
        var t = EffectiveTraining;
        string augmentation = t.Augmentation switch
        {
            null => "none",
            ComposedAugmentation c => string.Join(" + ", c.Steps.Select(s => s.GetType().Name.Replace("Augmentation", "", StringComparison.Ordinal))),
            var a => a.GetType().Name,
        };
        return string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{Spec.Architecture} width {(Spec.Width == 0 ? "standard" : Spec.Width.ToString(System.Globalization.CultureInfo.InvariantCulture))}, " +
            $"{t.Epochs} epochs, batch {t.BatchSize}, SGD lr {t.LearningRate} momentum {t.Momentum} wd {t.WeightDecay}, schedule {t.Schedule}, " +
            $"augmentation {augmentation}, normalisation {(Normalization is null || Normalization.IsIdentity ? "none" : "mean/std")}, seed {Seed}");
    }
}
