using System.Diagnostics;
using Robustness.Data;
using Robustness.Pruning;
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

    /// <summary>The default <see cref="DistillationWeight"/>, chosen by measurement (docs: benchmarks/README, All-in-One).</summary>
    public const double DefaultDistillationWeight = 0.5;

    /// <summary>
    /// How much a drawn ratio learns from the full width's soft predictions (in-place distillation) rather than from the
    /// labels, in [0, 1]: 1 is the sandwich rule's pure in-place distillation, 0 the plain slimmable training on labels.
    /// </summary>
    public double DistillationWeight { get; init; } = DefaultDistillationWeight;

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
        Require.InRange(DistillationWeight, 0, 1, nameof(DistillationWeight));
        Require.AtLeast(Seed, 0, nameof(Seed));
        return this;
    }
}

/// <summary>One epoch of multi-ratio training.</summary>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="Loss">Mean total loss (the full width's plus that of every drawn ratio).</param>
/// <param name="FullCrossEntropy">Mean loss of the full width (its cross-entropy under the sandwich rule; distillation and HSIC under the robust one).</param>
/// <param name="Distillation">Mean loss of the drawn ratios, per ratio.</param>
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
public sealed class SandwichObjective : ITrainingObjective
{
    private readonly MultiRatioNetwork _network;
    private readonly int _randomRatiosPerStep;

    /// <summary>
    /// The sandwich rule over <paramref name="network"/>: a drawn ratio learns from the full width's soft predictions with
    /// weight <paramref name="distillationWeight"/> and from the labels with the rest (1 = pure in-place distillation).
    /// </summary>
    public SandwichObjective(MultiRatioNetwork network, int randomRatiosPerStep = 1, double distillationWeight = MultiRatioTrainingOptions.DefaultDistillationWeight)
    {
        _network = network ?? throw new ArgumentNullException(nameof(network));
        Require.AtLeast(randomRatiosPerStep, 0, nameof(randomRatiosPerStep));
        Require.InRange(distillationWeight, 0, 1, nameof(distillationWeight));
        _randomRatiosPerStep = randomRatiosPerStep;
        DistillationWeight = distillationWeight;
    }

    /// <summary>The weight of the full width's soft predictions in a drawn ratio's target (the labels have the rest).</summary>
    public double DistillationWeight { get; }

    // Cross-entropy of the student's log-probabilities against the mixed target w * soft + (1 - w) * one-hot, as two terms.
    private Tensor StudentLoss(Tensor logProbabilities, Tensor soft, Tensor labels)
    {
        double w = DistillationWeight;
        if (w == 0) return F.nll_loss(logProbabilities, labels);
        var distilled = soft.mul(logProbabilities).sum([1L]).mean().neg();
        if (w == 1) return distilled;
        using var weight = w.ToScalar();
        using var rest = (1 - w).ToScalar();
        return distilled.mul(weight).add(F.nll_loss(logProbabilities, labels).mul(rest));
    }

    /// <summary>The ratios drawn for a step: the smallest, then random middle ones (distinct), from the step's random source.</summary>
    public IReadOnlyList<double> Draw(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var below = _network.Ratios.Skip(1).ToList();
        if (below.Count == 0) return [];
        var middle = below.Take(below.Count - 1).OrderBy(_ => random.Next()).Take(_randomRatiosPerStep);
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
            var loss = StudentLoss(student, soft, labels);
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
    public override string ToString() => FormattableString.Invariant($"sandwich rule (smallest + {_randomRatiosPerStep} random; drawn ratios learn {DistillationWeight:0.##} from the full width, {1 - DistillationWeight:0.##} from the labels)");
}

/// <summary>
/// Robust All-in-One (our extension; no peer offers robust multi-ratio models): the sandwich rule with PwoA's terms at
/// every drawn ratio and no adversarial examples. Each drawn width (the full one, the smallest, random middle ones) is
/// trained to match a frozen robust teacher's logits (PwoA's self-distillation) plus, optionally, the HSIC bottleneck on
/// its own hidden representations (lambda_x, lambda_y); the labels enter only through HSIC, as in PwoA. As PwoA does,
/// start the network from the teacher's weights (<c>MultiRatioNetwork.From(teacher, ratios)</c>). The default
/// distillation is temperature 4, weight 1, not PwoA's 30 and 10: a pruned PwoA student starts next to its teacher and
/// only needs refining, while a narrow ratio's slice starts at chance and must be taught; at temperature 30 it barely
/// moved in our tests. Representations are captured by hooks attached for the step only, so evaluation captures nothing.
/// Measured at CPU scale in benchmarks/results/robust-all-in-one-cifar10-cpu.md (PGD-10 and AutoAttack per ratio next to
/// PGD-AT models of each width and one-shot slices).
/// </summary>
public sealed class RobustSandwichObjective : ITrainingObjective
{
    private readonly MultiRatioNetwork _network;
    private readonly Classifier _teacher;
    private readonly SelfDistillationLoss _distillation;
    private readonly HsicBottleneckLoss? _hsic;
    private readonly SandwichObjective _draws;

    /// <summary>The default distillation temperature (see the class remarks for why not PwoA's 30).</summary>
    public const double DefaultTemperature = 4;

    /// <summary>The default distillation weight.</summary>
    public const double DefaultAlpha = 1;

    /// <summary>
    /// Trains <paramref name="network"/> from <paramref name="teacher"/> (frozen, used in eval mode); <paramref name="hsic"/>
    /// null leaves the HSIC term out (distillation only).
    /// </summary>
    public RobustSandwichObjective(MultiRatioNetwork network, Classifier teacher, SelfDistillationLoss? distillation = null,
        HsicBottleneckLoss? hsic = null, int randomRatiosPerStep = 1)
    {
        _network = network ?? throw new ArgumentNullException(nameof(network));
        _teacher = teacher ?? throw new ArgumentNullException(nameof(teacher));
        if (teacher.Spec.Classes != network.Full.Spec.Classes)
            throw new ArgumentException($"The teacher has {teacher.Spec.Classes} classes, the network {network.Full.Spec.Classes}.", nameof(teacher));
        _distillation = distillation ?? new SelfDistillationLoss(DefaultTemperature, DefaultAlpha);
        _hsic = hsic;
        _draws = new SandwichObjective(network, randomRatiosPerStep);
    }

    /// <inheritdoc />
    public ObjectiveOutput Compute(Classifier classifier, Tensor images, Tensor labels, TrainingStep step)
    {
        if (!ReferenceEquals(classifier, _network.Full))
            throw new ArgumentException("The robust sandwich objective trains its multi-ratio network's full path.", nameof(classifier));
        Tensor teacherLogits;
        using (torch.no_grad())
        using (_teacher.EvalMode())
            teacherLogits = _teacher.Forward(images);

        Tensor Loss(Classifier path, out Tensor logits)
        {
            using var capture = _hsic is null ? null : new RepresentationCapture(path);
            logits = path.Forward(images);
            var loss = _distillation.Compute(logits, teacherLogits);
            if (capture is not null) loss = loss.add(_hsic!.Compute(images, labels, capture.Take()));
            return loss;
        }

        var fullLoss = Loss(classifier, out var fullLogits);
        var total = fullLoss;
        var others = torch.zeros([], ScalarType.Float32, fullLogits.device);
        var drawn = _draws.Draw(step.Random);
        foreach (double ratio in drawn)
        {
            var path = _network.Path(ratio);
            path.Train();
            var loss = Loss(path, out _);
            total = total.add(loss);
            others = others.add(loss.detach());
        }
        if (drawn.Count > 0)
        {
            using var count = ((double)drawn.Count).ToScalar();
            others = others.div(count);
        }
        return new ObjectiveOutput(total, fullLogits, torch.stack([fullLoss.detach(), others]));
    }

    /// <inheritdoc />
    public override string ToString() => $"robust sandwich: {_distillation} {(_hsic is null ? "" : $"+ {_hsic} ")}at every drawn ratio";
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
    /// <remarks><paramref name="objective"/> replaces the sandwich rule (e.g. a <see cref="RobustSandwichObjective"/>); it must train <c>network.Full</c>.</remarks>
    public MultiRatioTrainingResult Train(MultiRatioNetwork network, IImageCollection train, IImageCollection? test = null,
        IProgress<MultiRatioEpoch>? progress = null, CancellationToken cancellationToken = default, ITrainingObjective? objective = null)
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
        using (var loop = new TrainingLoop(full, optimizer, objective ?? new SandwichObjective(network, o.RandomRatiosPerStep, o.DistillationWeight), source, new GatheredStep(network),
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
