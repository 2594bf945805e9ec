using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Robustness.Data;
using Robustness.Training;

namespace Robustness.Protection;

/// <summary>
/// Measures what a protection does to someone who trains on it (SEP.md, step 3): a fresh victim is trained on the
/// protected training set with its true labels and tested on clean test images; beside it, a victim with the same
/// architecture, recipe and seed is trained on the clean training set. The drop in clean test accuracy is the
/// protection's effect. The victim is independent of the protector (any architecture, any recipe).
/// </summary>
public sealed class ProtectionEvaluation
{
    private readonly ILogger _logger;

    /// <summary>Creates an evaluation with <paramref name="recipe"/> (validated here).</summary>
    public ProtectionEvaluation(VictimRecipe recipe, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(recipe);
        Recipe = recipe.Validate();
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>How victims are trained.</summary>
    public VictimRecipe Recipe { get; }

    /// <summary>
    /// Trains the protected victim on <paramref name="protectedTrain"/> and, when <paramref name="cleanTrain"/> is given,
    /// the clean victim on it (same recipe and seed), and tests both on <paramref name="cleanTest"/>. Progress reports
    /// come from the protected victim's training first, then the clean one's. Cancellation is honoured between batches.
    /// </summary>
    /// <param name="protectedTrain">The protected training images with their true labels.</param>
    /// <param name="cleanTest">Clean test images.</param>
    /// <param name="cleanTrain">The clean training set; null skips the clean victim (its fields in the report are null).</param>
    /// <param name="progress">Training progress of each victim in turn.</param>
    /// <param name="cancellationToken">Cancels between batches.</param>
    public ProtectionEvaluationReport Evaluate(IImageCollection protectedTrain, IImageCollection cleanTest, IImageCollection? cleanTrain = null,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(protectedTrain);
        ArgumentNullException.ThrowIfNull(cleanTest);
        if (cleanTrain is not null && (cleanTrain.Count != protectedTrain.Count || cleanTrain.Channels != protectedTrain.Channels
            || cleanTrain.Height != protectedTrain.Height || cleanTrain.Width != protectedTrain.Width))
            throw new ArgumentException(
                $"cleanTrain ({cleanTrain.Count} images of {cleanTrain.Channels}x{cleanTrain.Height}x{cleanTrain.Width}) must match protectedTrain " +
                $"({protectedTrain.Count} of {protectedTrain.Channels}x{protectedTrain.Height}x{protectedTrain.Width}).", nameof(cleanTrain));

        var protectedVictim = TrainVictimAndTest(protectedTrain, cleanTest, progress, cancellationToken);
        var cleanVictim = cleanTrain is null ? null : TrainVictimAndTest(cleanTrain, cleanTest, progress, cancellationToken);
        var report = new ProtectionEvaluationReport(Recipe.Spec.Architecture, Recipe.Spec.Width, Recipe.Summary(), protectedVictim, cleanVictim);
        _logger.LogInformation("Victim {Victim}: clean test accuracy {Protected:P2} after training on protected data{Clean}.",
            Recipe.Spec.Architecture, report.ProtectedVictimAccuracy,
            cleanVictim is null ? "" : $", {cleanVictim.TestAccuracy.ToString("P2", System.Globalization.CultureInfo.InvariantCulture)} on clean data");
        return report;
    }

    /// <summary>
    /// Trains one fresh victim on <paramref name="train"/> with the recipe (weights from the recipe's seed) and reports
    /// its accuracy on <paramref name="test"/>, with its final training loss and wall time.
    /// </summary>
    public VictimResult TrainVictimAndTest(IImageCollection train, IImageCollection test,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(test);
        var options = Recipe.EffectiveTraining;
        var watch = Stopwatch.StartNew();
        using var victim = Classifier.Create(Recipe.Spec, Recipe.Normalization, train.ClassNames, options.Device, seed: Recipe.Seed);
        var result = new Trainer(options, Recipe.Objective).Train(victim, train, test: null, progress: progress, cancellationToken: cancellationToken);
        var accuracy = new Evaluator(options.EvaluationBatchSize).Evaluate(victim, test, cancellationToken);
        watch.Stop();
        _logger.LogDebug("Victim trained in {Seconds:F1} s: final training loss {Loss:F4}, test accuracy {Accuracy:P2}.",
            watch.Elapsed.TotalSeconds, result.Final.TrainLoss, accuracy.Accuracy);
        return new VictimResult(accuracy, result.Final.TrainLoss, result.Final.TrainAccuracy, watch.Elapsed.TotalSeconds);
    }
}
