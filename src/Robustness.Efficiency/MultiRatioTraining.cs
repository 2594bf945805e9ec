using System.Diagnostics;
using Robustness.Data;
using Robustness.Training;
using Robustness.Validation;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Robustness.Efficiency;

/// <summary>How <see cref="MultiRatioTrainer"/> trains a <see cref="MultiRatioNetwork"/>.</summary>
public sealed record MultiRatioTrainingOptions
{
    /// <summary>Epochs (>= 1).</summary>
    public int Epochs { get; init; } = 30;

    /// <summary>Images per step.</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>Peak learning rate (SGD, cosine decay over the run).</summary>
    public double LearningRate { get; init; } = 0.1;

    /// <summary>SGD momentum.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>Weight decay of every trained parameter.</summary>
    public double WeightDecay { get; init; } = 5e-4;

    /// <summary>Ratios drawn per step besides the largest and the smallest (the sandwich rule's random ones, at most the middle ratios).</summary>
    public int RandomRatiosPerStep { get; init; } = 1;

    /// <summary>Random crop and flip (CIFAR-style).</summary>
    public bool Augment { get; init; } = true;

    /// <summary>Seed of the batches, the augmentation and the ratio draws (>= 0).</summary>
    public int Seed { get; init; }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first option out of range; returns this.</summary>
    public MultiRatioTrainingOptions Validate()
    {
        Require.AtLeast(Epochs, 1, nameof(Epochs));
        Require.BatchSize(BatchSize, nameof(BatchSize));
        Require.Positive(LearningRate, nameof(LearningRate));
        Require.Momentum(Momentum, nameof(Momentum));
        Require.NonNegative(WeightDecay, nameof(WeightDecay));
        Require.AtLeast(RandomRatiosPerStep, 0, nameof(RandomRatiosPerStep));
        Require.AtLeast(Seed, 0, nameof(Seed));
        return this;
    }
}

/// <summary>One epoch of multi-ratio training.</summary>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="Loss">Mean total loss (the full width's cross-entropy plus the distillation of every drawn ratio).</param>
/// <param name="FullCrossEntropy">Mean cross-entropy of the full width.</param>
/// <param name="Distillation">Mean distillation loss of the drawn ratios, per ratio.</param>
/// <param name="TrainAccuracy">Training accuracy of the full width.</param>
/// <param name="LearningRate">Learning rate of the epoch's last step.</param>
/// <param name="Duration">Wall time.</param>
public sealed record MultiRatioEpoch(int Epoch, double Loss, double FullCrossEntropy, double Distillation, double TrainAccuracy, double LearningRate, TimeSpan Duration);

/// <summary>What <see cref="MultiRatioTrainer.Train"/> returns.</summary>
/// <param name="History">One entry per epoch.</param>
/// <param name="TestAccuracy">Test accuracy per ratio after training (empty without test images).</param>
/// <param name="WallTime">Wall time of the run.</param>
public sealed record MultiRatioTrainingResult(IReadOnlyList<MultiRatioEpoch> History, IReadOnlyDictionary<double, double> TestAccuracy, TimeSpan WallTime);

/// <summary>
/// The sandwich rule with in-place distillation (Yu and Huang, ICCV 2019), our training for All-in-One's shared weights:
/// every step trains the full width on the labels, and the smallest ratio plus <see cref="MultiRatioTrainingOptions.RandomRatiosPerStep"/>
/// random middle ones on the full width's soft predictions (detached), so the small widths learn from the large one in the
/// same pass. The loss is their sum; each drawn ratio runs its own sliced network (its cost is its width's).
/// </summary>
public sealed class SandwichObjective(MultiRatioNetwork network, int randomRatiosPerStep = 1) : ITrainingObjective
{
    private readonly MultiRatioNetwork _network = network ?? throw new ArgumentNullException(nameof(network));

    /// <summary>The ratios drawn for a step: the smallest, then random middle ones (distinct), from the step's random source.</summary>
    public IReadOnlyList<double> Draw(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var below = _network.Ratios.Skip(1).ToList();
        if (below.Count == 0) return [];
        var middle = below.Take(below.Count - 1).OrderBy(_ => random.Next()).Take(randomRatiosPerStep);
        return [below[^1], .. middle];
    }

    /// <inheritdoc />
    public ObjectiveOutput Compute(Classifier classifier, Tensor images, Tensor labels, TrainingStep step)
    {
        if (!ReferenceEquals(classifier, _network.Full))
            throw new ArgumentException("The sandwich objective trains its multi-ratio network's full path.", nameof(classifier));
        var logits = classifier.Forward(images);
        var crossEntropy = F.cross_entropy(logits, labels);
        using var soft = F.softmax(logits.detach(), 1);
        var total = crossEntropy;
        var distillation = torch.zeros([], ScalarType.Float32, logits.device);
        var drawn = Draw(step.Random);
        foreach (double ratio in drawn)
        {
            var path = _network.Path(ratio);
            path.Train();
            var student = F.log_softmax(path.Forward(images), 1);
            var loss = soft.mul(student).sum([1L]).mean().neg();
            total = total.add(loss);
            distillation = distillation.add(loss.detach());
        }
        if (drawn.Count > 0)
        {
            using var count = ((double)drawn.Count).ToScalar();
            distillation = distillation.div(count);
        }
        return new ObjectiveOutput(total, logits, torch.stack([crossEntropy.detach(), distillation]));
    }

    /// <inheritdoc />
    public override string ToString() => $"sandwich rule with in-place distillation (smallest + {randomRatiosPerStep} random)";
}

/// <summary>The weight update of multi-ratio training: gather the ratio networks' gradients into the shared weights, then step.</summary>
public sealed class GatheredStep(MultiRatioNetwork network) : IParameterUpdate
{
    private readonly MultiRatioNetwork _network = network ?? throw new ArgumentNullException(nameof(network));

    /// <inheritdoc />
    public void Apply(Classifier model, optim.Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        _network.GatherGradients();
        optimizer.step();
    }
}

/// <summary>
/// Trains a <see cref="MultiRatioNetwork"/> with the sandwich rule (<see cref="SandwichObjective"/>) on the library's one
/// training loop: SGD with momentum and cosine decay over the shared weights and every ratio's batch norm, seeded batches
/// and augmentation. Every ratio's batch norm keeps its own running statistics (each ratio runs in training mode on the
/// steps it is drawn).
/// </summary>
public sealed class MultiRatioTrainer(MultiRatioTrainingOptions? options = null)
{
    /// <summary>The options.</summary>
    public MultiRatioTrainingOptions Options { get; } = (options ?? new MultiRatioTrainingOptions()).Validate();

    /// <summary>Trains <paramref name="network"/> in place; with <paramref name="test"/>, measures every ratio's accuracy at the end.</summary>
    public MultiRatioTrainingResult Train(MultiRatioNetwork network, IImageCollection train, IImageCollection? test = null,
        IProgress<MultiRatioEpoch>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(train);
        var o = Options;
        var wall = Stopwatch.StartNew();
        torch.random.manual_seed(o.Seed);
        var random = new Random(o.Seed);
        using var augmentationGenerator = new torch.Generator((ulong)o.Seed);
        var full = network.Full;
        var sampler = new ShuffledBatches(o.BatchSize);
        int batches = sampler.BatchesPerEpoch(train.Count);
        var schedule = new CosineLearningRate(o.Epochs);
        var history = new List<MultiRatioEpoch>();
        using (var optimizer = torch.optim.SGD(network.TrainableParameters(), o.LearningRate, o.Momentum, 0, o.WeightDecay))
        using (var source = new TrainingBatchSource(train, full.Device))
        using (var loop = new TrainingLoop(full, optimizer, new SandwichObjective(network, o.RandomRatiosPerStep), source, new GatheredStep(network),
            o.Augment ? ComposedAugmentation.Cifar() : null, o.Augment ? augmentationGenerator : null))
        {
            try
            {
                for (int epoch = 0; epoch < o.Epochs; epoch++)
                {
                    network.SetTraining(true);
                    var clock = Stopwatch.StartNew();
                    int e = epoch;
                    var totals = loop.RunEpoch(sampler, train.Count, epoch, o.Epochs, random, batch => schedule.LearningRate(o.LearningRate, e, batch, batches),
                        cancellationToken: cancellationToken);
                    var terms = totals.MeanTerms.Count == 2 ? totals.MeanTerms : [double.NaN, double.NaN];
                    var summary = new MultiRatioEpoch(epoch, totals.MeanLoss, terms[0], terms[1], totals.Accuracy, totals.LearningRate, clock.Elapsed);
                    history.Add(summary);
                    progress?.Report(summary);
                }
            }
            finally
            {
                network.SetTraining(false);
            }
        }
        var accuracy = new Dictionary<double, double>();
        if (test is not null)
        {
            var evaluator = new Evaluator();
            foreach (double ratio in network.Ratios) accuracy[ratio] = evaluator.Evaluate(network.Path(ratio), test, cancellationToken).Accuracy;
        }
        return new MultiRatioTrainingResult(history, accuracy, wall.Elapsed);
    }
}
