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
/// and optional evaluation after each epoch. The running loss stays on the device and is read only for progress
/// reports and at the end of each epoch, so the GPU is never stalled per batch.
/// </summary>
public sealed class Trainer
{
    private readonly ILogger<Trainer> _logger;

    /// <summary>Creates a trainer; the options are validated here.</summary>
    public Trainer(TrainingOptions? options = null, ITrainingObjective? objective = null, ILogger<Trainer>? logger = null)
    {
        Options = (options ?? new TrainingOptions()).Validate();
        Objective = objective ?? CrossEntropyObjective.Instance;
        _logger = logger ?? NullLogger<Trainer>.Instance;
    }

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
        CheckpointSet? checkpoints = null, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(train);
        Evaluator.CheckCompatible(classifier, train, nameof(train));
        if (test is not null) Evaluator.CheckCompatible(classifier, test, nameof(test));
        var o = Options;
        int batchesPerEpoch = o.DropLast ? train.Count / o.BatchSize : (train.Count + o.BatchSize - 1) / o.BatchSize;
        if (batchesPerEpoch == 0)
            throw new ArgumentException($"With DropLast, {train.Count} images give no batch of {o.BatchSize}; lower BatchSize or turn DropLast off.", nameof(train));

        var keptEpochs = o.Checkpoints.EpochsFor(o.Epochs);
        bool ownsCheckpoints = checkpoints is null && keptEpochs.Count > 0;
        if (ownsCheckpoints) checkpoints = CheckpointSet.InMemory();
        foreach (int epoch in keptEpochs)
            if (checkpoints!.Contains(epoch))
                throw new ArgumentException($"The checkpoint set already holds epoch {epoch}, which this run would write.", nameof(checkpoints));

        try
        {
            return Run(classifier, train, test, checkpoints, batchesPerEpoch, progress, cancellationToken);
        }
        catch when (ownsCheckpoints)
        {
            checkpoints!.Dispose();
            throw;
        }
    }

    private TrainingResult Run(Classifier classifier, IImageCollection train, IImageCollection? test, CheckpointSet? checkpoints,
        int batchesPerEpoch, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
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
        // Epoch sums live outside the batch scopes and are only ever updated in place.
        using var lossSum = torch.zeros(1, ScalarType.Float64, o.Device).DetachFromDisposeScope();
        using var correctSum = torch.zeros(1, ScalarType.Int64, o.Device).DetachFromDisposeScope();
        var evaluator = new Evaluator(o.EvaluationBatchSize);
        var history = new List<EpochSummary>(o.Epochs);

        _logger.LogInformation("Training {Architecture} on {Images} images for {Epochs} epochs ({Batches} batches of {BatchSize}), {Objective}, schedule {Schedule}, device {Device}, seed {Seed}.",
            classifier.Spec.Architecture, train.Count, o.Epochs, batchesPerEpoch, o.BatchSize, Objective, o.Schedule, o.Device, o.Seed);

        double lr = double.NaN;
        for (int epoch = 0; epoch < o.Epochs; epoch++)
        {
            lossSum.zero_();
            correctSum.zero_();
            classifier.Train(); // evaluation after the previous epoch left eval mode behind it only temporarily
            var epochClock = Stopwatch.StartNew();
            int seen = 0, batch = 0;
            foreach (int[] indices in ImageBatches.Plan(train.Count, o.BatchSize, rng, o.DropLast))
            {
                cancellationToken.ThrowIfCancellationRequested();
                double stepRate = o.Schedule.LearningRate(o.LearningRate, epoch, batch, batchesPerEpoch);
                if (stepRate != lr)
                {
                    lr = stepRate;
                    foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
                }

                using (var scope = torch.NewDisposeScope())
                {
                    var (images, labels) = source.Read(indices);
                    if (o.Augmentation is not null) images = o.Augmentation.Apply(images, augmentationGenerator);
                    optimizer.zero_grad();
                    var output = Objective.Compute(classifier, images, labels, new TrainingStep(epoch, batch, batchesPerEpoch, o.Epochs, rng));
                    output.Loss.backward();
                    optimizer.step();
                    using (torch.no_grad())
                    {
                        using var weight = ((double)indices.Length).ToScalar(); // the mean loss times the batch size
                        lossSum.add_(output.Loss.detach(), weight);
                        correctSum.add_(output.Logits.detach().argmax(1).eq(labels).sum());
                    }
                }

                seen += indices.Length;
                batch++;
                if (progress is not null && (batch % o.ProgressInterval == 0 || batch == batchesPerEpoch))
                    progress.Report(new TrainingProgress(epoch, o.Epochs, batch, batchesPerEpoch, lossSum.item<double>() / seen, lr,
                        seen / Math.Max(epochClock.Elapsed.TotalSeconds, 1e-9), wall.Elapsed));
            }

            double trainLoss = lossSum.item<double>() / seen;
            double trainAccuracy = (double)correctSum.item<long>() / seen;
            double imagesPerSecond = seen / Math.Max(epochClock.Elapsed.TotalSeconds, 1e-9);

            bool checkpointed = o.Checkpoints.ShouldSave(epoch, o.Epochs);
            if (checkpointed) checkpoints!.Add(epoch, classifier);

            AccuracyReport? report = null;
            if (test is not null && ((epoch + 1) % o.EvaluationInterval == 0 || epoch == o.Epochs - 1))
                report = evaluator.Evaluate(classifier, test, cancellationToken);

            history.Add(new EpochSummary(epoch, trainLoss, trainAccuracy, lr, imagesPerSecond, report, checkpointed));
            _logger.LogInformation("Epoch {Epoch}/{Epochs}: loss {Loss:F4}, train accuracy {TrainAccuracy:P2}, test accuracy {TestAccuracy}, lr {LearningRate:G4}, {ImagesPerSecond:F0} img/s{Checkpoint}.",
                epoch + 1, o.Epochs, trainLoss, trainAccuracy, report is null ? "-" : report.Accuracy.ToString("P2", System.Globalization.CultureInfo.InvariantCulture),
                lr, imagesPerSecond, checkpointed ? ", checkpoint kept" : "");
        }

        return new TrainingResult(history, checkpoints, wall.Elapsed);
    }
}
