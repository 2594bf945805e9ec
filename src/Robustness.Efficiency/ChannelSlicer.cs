using System.Diagnostics;
using Robustness.Data;
using Robustness.Masks;
using Robustness.Training;
using Robustness.Validation;

namespace Robustness.Efficiency;

/// <summary>How <see cref="ChannelSlicer"/> slices and fine-tunes.</summary>
public sealed record ChannelSlicingOptions
{
    /// <summary>Share of every channel group kept, in (0, 1] (0.5 halves the widths: about a quarter of the MACs).</summary>
    public double Ratio { get; init; } = 0.5;

    /// <summary>Clean cross-entropy fine-tuning epochs of the sliced network (0: slice only).</summary>
    public int FineTuneEpochs { get; init; }

    /// <summary>Fine-tuning batch size.</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>Fine-tuning peak learning rate (SGD with momentum 0.9, cosine decay).</summary>
    public double LearningRate { get; init; } = 0.01;

    /// <summary>Fine-tuning weight decay.</summary>
    public double WeightDecay { get; init; } = 5e-4;

    /// <summary>Random crop and flip while fine-tuning (CIFAR-style).</summary>
    public bool Augment { get; init; } = true;

    /// <summary>Seed of the fine-tuning (>= 0).</summary>
    public int Seed { get; init; }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first option out of range; returns this.</summary>
    public ChannelSlicingOptions Validate()
    {
        if (!(Ratio > 0 && Ratio <= 1)) throw new ArgumentOutOfRangeException(nameof(Ratio), Ratio, "Ratio must be in (0, 1].");
        Require.AtLeast(FineTuneEpochs, 0, nameof(FineTuneEpochs));
        Require.BatchSize(BatchSize, nameof(BatchSize));
        Require.Positive(LearningRate, nameof(LearningRate));
        Require.NonNegative(WeightDecay, nameof(WeightDecay));
        Require.AtLeast(Seed, 0, nameof(Seed));
        return this;
    }
}

/// <summary>What <see cref="ChannelSlicer.Slice"/> returns.</summary>
/// <param name="Sliced">The smaller dense model (the caller disposes it), in eval mode.</param>
/// <param name="Kept">The channels kept, group by group.</param>
/// <param name="FineTuning">The fine-tuning run, or null without one.</param>
/// <param name="WallTime">Wall time of the whole run.</param>
public sealed record SlicingResult(Classifier Sliced, MaskReport Kept, TrainingResult? FineTuning, TimeSpan WallTime);

/// <summary>
/// Structured pruning that really shrinks the network: choose the channels to keep (a <see cref="ChannelSelectorDefinition"/>),
/// slice them out into a smaller dense model (<see cref="ChannelMask.Materialise"/>: the same logits as the masked
/// network), then optionally fine-tune it with clean cross-entropy. The model is any spec network or zoo model with a
/// spec (ResNet-18, VGG, WideResNet); the source is left unchanged. Also the lower bound All-in-One is compared with
/// (one-shot slicing of a dense model).
/// </summary>
public sealed class ChannelSlicer
{
    /// <summary>Creates the slicer; <paramref name="selector"/> defaults to L1 norm.</summary>
    public ChannelSlicer(ChannelSlicingOptions? options = null, ChannelSelectorDefinition? selector = null)
    {
        Options = (options ?? new ChannelSlicingOptions()).Validate();
        Selector = selector ?? ChannelSelectors.L1Norm;
    }

    /// <summary>The options.</summary>
    public ChannelSlicingOptions Options { get; }

    /// <summary>The selection rule.</summary>
    public ChannelSelectorDefinition Selector { get; }

    /// <summary>
    /// Slices a copy of <paramref name="model"/>; with <see cref="ChannelSlicingOptions.FineTuneEpochs"/> &gt; 0 fine-tunes it on
    /// <paramref name="train"/> (required then), reporting <paramref name="test"/> accuracy per epoch when given.
    /// </summary>
    public SlicingResult Slice(Classifier model, IImageCollection? train = null, IImageCollection? test = null,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (Options.FineTuneEpochs > 0 && train is null)
            throw new ArgumentNullException(nameof(train), "Fine-tuning needs training images; pass train or set FineTuneEpochs to 0.");
        var wall = Stopwatch.StartNew();
        var mask = new ChannelMask(Selector.Select(model, Options.Ratio));
        var kept = mask.Report(model);
        var sliced = mask.Materialise(model);
        try
        {
            TrainingResult? fineTuning = null;
            if (Options.FineTuneEpochs > 0)
            {
                var trainer = new Trainer(new TrainingOptions
                {
                    Epochs = Options.FineTuneEpochs,
                    BatchSize = Options.BatchSize,
                    LearningRate = Options.LearningRate,
                    WeightDecay = Options.WeightDecay,
                    Schedule = new CosineLearningRate(Options.FineTuneEpochs),
                    Augmentation = Options.Augment ? ComposedAugmentation.Cifar() : null,
                    Seed = Options.Seed,
                    Device = model.Device,
                });
                fineTuning = trainer.Train(sliced, train!, test, progress: progress, cancellationToken: cancellationToken);
            }
            sliced.Eval();
            return new SlicingResult(sliced, kept, fineTuning, wall.Elapsed);
        }
        catch
        {
            sliced.Dispose();
            throw;
        }
    }
}
