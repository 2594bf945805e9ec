using Robustness.Data;
using Robustness.Models;
using Robustness.Validation;
using static TorchSharp.torch;

namespace Robustness.Training;

/// <summary>
/// A complete training protocol for one model: its architecture, its training options, its input normalisation, a
/// seed and a device. The protection recipes derive from it: <c>VictimRecipe</c> (who trains on protected data) and
/// <c>SourceModelRecipe</c> (SEP's source model); each says what a null <see cref="Normalization"/> means for it.
/// </summary>
/// <param name="Spec">The model's architecture; its class count and input channels must match the data.</param>
/// <param name="Training">The training options; their seed and device are replaced by <see cref="Seed"/> and <see cref="Device"/>.</param>
public abstract record ModelRecipe(ModelSpec Spec, TrainingOptions Training)
{
    /// <summary>Input normalisation inside the model; what null means is the derived recipe's to say.</summary>
    public Normalization? Normalization { get; init; }

    /// <summary>Seed of the initial weights, batch order and augmentation (>= 0).</summary>
    public int Seed { get; init; }

    /// <summary>Where the model trains; null = <see cref="TrainingOptions.Device"/> of <see cref="Training"/>.</summary>
    public Device? Device { get; init; }

    /// <summary>The options the model actually trains with: <see cref="Training"/> with this recipe's seed and device.</summary>
    public virtual TrainingOptions EffectiveTraining => Training with { Seed = Seed, Device = Device ?? Training.Device };

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> or <see cref="ArgumentNullException"/> naming the first bad field; returns the recipe.</summary>
    public virtual ModelRecipe Validate()
    {
        if (Spec is null) throw new ArgumentNullException(nameof(Spec), "Spec must be set (the model's architecture).");
        if (Training is null) throw new ArgumentNullException(nameof(Training), "Training must be set (e.g. TrainingOptions.ForSep(30)).");
        Spec.Validate();
        Require.AtLeast(Seed, 0, nameof(Seed));
        if (Normalization is not null && Normalization.Channels != Spec.InputChannels)
            throw new ArgumentOutOfRangeException(nameof(Normalization), Normalization.Channels, $"Normalization has {Normalization.Channels} channels; the model takes {Spec.InputChannels}.");
        EffectiveTraining.Validate();
        return this;
    }

    /// <summary>A one-line description for reports: architecture, width, epochs, batch, learning rate, augmentation, seed.</summary>
    public string Summary()
    {
        var t = EffectiveTraining;
        string augmentation = ComposedAugmentation.Describe(t.Augmentation);
        return string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{Spec.Architecture} width {(Spec.Width == 0 ? "standard" : Spec.Width.ToString(System.Globalization.CultureInfo.InvariantCulture))}, " +
            $"{t.Epochs} epochs, batch {t.BatchSize}, SGD lr {t.LearningRate} momentum {t.Momentum} wd {t.WeightDecay}, schedule {t.Schedule}, " +
            $"augmentation {augmentation}, normalisation {NormalizationSummary}, seed {Seed}");
    }

    /// <summary>How <see cref="Summary"/> names the normalisation.</summary>
    protected virtual string NormalizationSummary => Normalization is null || Normalization.IsIdentity ? "none" : "mean/std";
}
