using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Robustness.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Training;

/// <summary>
/// Trains a <see cref="Classifier"/> with SGD (momentum, Nesterov, weight decay) on a labelled image collection:
/// seeded shuffling and augmentation, a per-batch learning-rate schedule, a pluggable loss
/// (<see cref="ITrainingObjective"/>, cross-entropy by default), snapshots by a <see cref="CheckpointSchedule"/>
/// and optional evaluation after each epoch. The batches run through <see cref="TrainingLoop"/>, the one loop every
/// training procedure shares; a technique changes the weight update (<see cref="IParameterUpdate"/>: pruning masks)
/// or which examples each epoch sees (<see cref="IBatchSampler"/>) through the constructor. The running loss stays
/// on the device and is read only for progress reports and at the end of each epoch, so the GPU is never stalled per batch.
/// </summary>
public sealed class Trainer
{
    private readonly ILogger<Trainer> _logger;

    /// <summary>
    /// Creates a trainer; the options are validated here. <paramref name="update"/> replaces the optimizer's step
    /// (e.g. a <see cref="Pruning.MaskSet"/>), <paramref name="sampler"/> the shuffled batches of
    /// <see cref="TrainingOptions.BatchSize"/> (honouring <see cref="TrainingOptions.DropLast"/>).
    /// </summary>
    public Trainer(TrainingOptions? options = null, ITrainingObjective? objective = null, ILogger<Trainer>? logger = null,
        IParameterUpdate? update = null, IBatchSampler? sampler = null)
    {
        Options = (options ?? new TrainingOptions()).Validate();
        Objective = objective ?? CrossEntropyObjective.Instance;
        _logger = logger ?? NullLogger<Trainer>.Instance;
        Update = update ?? OptimizerStep.Instance;
        Sampler = sampler ?? new ShuffledBatches(Options.BatchSize, Options.DropLast);
    }

    /// <summary>How the weights move after each backward pass.</summary>
    public IParameterUpdate Update { get; }

    /// <summary>Which examples each epoch trains on.</summary>
    public IBatchSampler Sampler { get; }

    /// <summary>How this trainer trains.</summary>
    public TrainingOptions Options { get; }

    /// <summary>The loss it minimises.</summary>
    public ITrainingObjective Objective { get; }

    /// <summary>
    /// Trains <paramref name="classifier"/> in place (moving it to <see cref="TrainingOptions.Device"/>) and restores
    /// its train/eval mode afterwards. Snapshots go to <paramref name="checkpoints"/>, or to a new in-memory set when
    /// the schedule keeps any and none is given; the result carries the set, which the caller disposes.
    /// Cancellation is honoured between batches with <see cref="OperationCanceledException"/>; snapshots already
    /// taken stay complete (disk sets write each file atomically and index it only once written).
    /// </summary>
    public TrainingResult Train(Classifier classifier, IImageCollection train, IImageCollection? test = null,
        CheckpointSet? checkpoints = null, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Train(classifier, train, test, checkpoints, resume: null, progress, cancellationToken);

    /// <summary>
    /// As <see cref="Train(Classifier, IImageCollection, IImageCollection?, CheckpointSet?, IProgress{TrainingProgress}?, CancellationToken)"/>,
    /// keeping <paramref name="resume"/> up to date after every checkpointed epoch. When it holds the state of this very
    /// run (same settings, images and architecture) after epoch e and <paramref name="checkpoints"/> holds epoch e, the
    /// run continues at epoch e + 1 from that checkpoint's weights, the saved momentum and augmentation state and the
    /// replayed shuffling, so its weights and checkpoints are those of a run that was never stopped (on the same CPU).
    /// The result's history then covers the resumed epochs only. Not with an objective that keeps random state of its
    /// own (adversarial training): that would resume inexactly, so it is refused.
    /// </summary>
    public TrainingResult Train(Classifier classifier, IImageCollection train, IImageCollection? test, CheckpointSet? checkpoints,
        TrainingResumeState? resume, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(train);
        Evaluator.CheckCompatible(classifier, train, nameof(train));
        if (test is not null) Evaluator.CheckCompatible(classifier, test, nameof(test));
        var o = Options;
        int batchesPerEpoch = Sampler.BatchesPerEpoch(train.Count);
        if (batchesPerEpoch == 0)
            throw new ArgumentException(Sampler is ShuffledBatches
                ? $"With DropLast, {train.Count} images give no batch of {o.BatchSize}; lower BatchSize or turn DropLast off."
                : $"The batch sampler {Sampler} gives no batch of {train.Count} images.", nameof(train));

        if (resume is not null && Objective is not CrossEntropyObjective)
            throw new ArgumentException($"Resuming is exact only for plain cross-entropy training; the objective {Objective} keeps random state of its own.", nameof(resume));
        if (resume is not null && checkpoints is null)
            throw new ArgumentException("A resumable run needs its checkpoint set (the weights it resumes from).", nameof(checkpoints));
        string? fingerprint = resume is null ? null : Fingerprint(train.Count, classifier);
        int? resumeAfter = resume is null ? null : ResumableEpoch(resume, checkpoints!, train.Count, classifier);

        var keptEpochs = o.Checkpoints.EpochsFor(o.Epochs);
        bool ownsCheckpoints = checkpoints is null && keptEpochs.Count > 0;
        if (ownsCheckpoints) checkpoints = CheckpointSet.InMemory();
        foreach (int epoch in keptEpochs)
            if (epoch > (resumeAfter ?? -1) && checkpoints!.Contains(epoch))
                throw new ArgumentException($"The checkpoint set already holds epoch {epoch}, which this run would write.", nameof(checkpoints));

        try
        {
            return Run(classifier, train, test, checkpoints, batchesPerEpoch, resume, fingerprint, resumeAfter, progress, cancellationToken);
        }
        catch when (ownsCheckpoints)
        {
            checkpoints!.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The epoch after which this trainer would resume training <paramref name="classifier"/> on <paramref name="images"/>
    /// images from <paramref name="resume"/> and <paramref name="checkpoints"/>, or null when it would start from epoch 0
    /// (no state of this very run, or the run already finished).
    /// </summary>
    public int? ResumableEpoch(TrainingResumeState resume, CheckpointSet checkpoints, int images, Classifier classifier)
    {
        ArgumentNullException.ThrowIfNull(resume);
        return resume.ResumableEpoch(Fingerprint(images, classifier), checkpoints) is int saved && saved < Options.Epochs - 1 ? saved : null;
    }

    private string Fingerprint(int images, Classifier classifier) => TrainingResumeState.Fingerprint(Options, Objective, Sampler, images, classifier);

    private TrainingResult Run(Classifier classifier, IImageCollection train, IImageCollection? test, CheckpointSet? checkpoints,
        int batchesPerEpoch, TrainingResumeState? resume, string? fingerprint, int? resumeAfter, IProgress<TrainingProgress>? progress,
        CancellationToken cancellationToken)
    {
        var o = Options;
        var wall = Stopwatch.StartNew();
        torch.random.manual_seed(o.Seed);
        var rng = new Random(o.Seed);
        // Augmentations draw on a CPU generator of their own, so a seed gives the same batches on any device.
        using var augmentationGenerator = new torch.Generator((ulong)o.Seed);
        if (classifier.Device.type != o.Device.type || classifier.Device.index != o.Device.index) classifier.To(o.Device);

        using var mode = classifier.TrainMode();
        using var optimizer = torch.optim.SGD(classifier.Network.parameters(), o.LearningRate, o.Momentum, 0, o.WeightDecay, o.Nesterov);
        using var source = new TrainingBatchSource(train, o.Device);
        using var loop = new TrainingLoop(classifier, optimizer, Objective, source, Update, o.Augmentation, augmentationGenerator);
        var evaluator = new Evaluator(o.EvaluationBatchSize);
        var history = new List<EpochSummary>(o.Epochs);

        _logger.LogInformation("Training {Architecture} on {Images} images for {Epochs} epochs ({Batches} batches of {BatchSize}), {Objective}, schedule {Schedule}, device {Device}, seed {Seed}.",
            classifier.Spec.Architecture, train.Count, o.Epochs, batchesPerEpoch, o.BatchSize, Objective, o.Schedule, o.Device, o.Seed);

        int first = 0;
        if (resumeAfter is int after)
        {
            using (var weights = checkpoints!.Load(after, o.Device)) classifier.CopyWeightsFrom(weights);
            resume!.Load(after, optimizer, augmentationGenerator);
            // The shuffling generator is replayed: each epoch's order is drawn as the uninterrupted run drew it.
            for (int e = 0; e <= after; e++)
                foreach (var _ in Sampler.Batches(e, train.Count, rng)) { }
            first = after + 1;
            _logger.LogInformation("Resuming after epoch {Epoch} from {Folder}.", after + 1, resume.Folder);
        }

        for (int epoch = first; epoch < o.Epochs; epoch++)
        {
            classifier.Train(); // evaluation after the previous epoch left eval mode behind it only temporarily
            var epochClock = Stopwatch.StartNew();
            int e = epoch;
            var totals = loop.RunEpoch(Sampler, train.Count, epoch, o.Epochs, rng,
                batch => o.Schedule.LearningRate(o.LearningRate, e, batch, batchesPerEpoch),
                batch =>
                {
                    if (progress is not null && (batch % o.ProgressInterval == 0 || batch == batchesPerEpoch))
                        progress.Report(new TrainingProgress(e, o.Epochs, batch, batchesPerEpoch, loop.MeanLoss, loop.LearningRate,
                            loop.Seen / Math.Max(epochClock.Elapsed.TotalSeconds, 1e-9), wall.Elapsed));
                },
                cancellationToken);
            double lr = totals.LearningRate;
            double imagesPerSecond = totals.Seen / Math.Max(epochClock.Elapsed.TotalSeconds, 1e-9);

            bool checkpointed = o.Checkpoints.ShouldSave(epoch, o.Epochs);
            if (checkpointed)
            {
                resume?.Save(epoch, fingerprint!, optimizer, augmentationGenerator);
                checkpoints!.Add(epoch, classifier);
            }

            AccuracyReport? report = null;
            if (test is not null && ((epoch + 1) % o.EvaluationInterval == 0 || epoch == o.Epochs - 1))
                report = evaluator.Evaluate(classifier, test, cancellationToken);

            history.Add(new EpochSummary(epoch, totals.MeanLoss, totals.Accuracy, lr, imagesPerSecond, report, checkpointed));
            _logger.LogInformation("Epoch {Epoch}/{Epochs}: loss {Loss:F4}, train accuracy {TrainAccuracy:P2}, test accuracy {TestAccuracy}, lr {LearningRate:G4}, {ImagesPerSecond:F0} img/s{Checkpoint}.",
                epoch + 1, o.Epochs, totals.MeanLoss, totals.Accuracy, report is null ? "-" : report.Accuracy.ToString("P2", System.Globalization.CultureInfo.InvariantCulture),
                lr, imagesPerSecond, checkpointed ? ", checkpoint kept" : "");
        }

        return new TrainingResult(history, checkpoints, wall.Elapsed);
    }
}
