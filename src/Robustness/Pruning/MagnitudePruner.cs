using System.Diagnostics;
using Robustness.Data;
using Robustness.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Pruning;

/// <summary>
/// The baselines PwoA is compared with: one-shot magnitude pruning of a copy of the classifier, then masked
/// fine-tuning with a training objective. With <see cref="CrossEntropyObjective"/> it is naive pruning (clean
/// fine-tuning, <see cref="Naive"/>); with <see cref="PgdAdversarialObjective"/> it is adversarial pruning
/// (<see cref="Adversarial"/>: PGD-10 fine-tuning costs about eleven forward/backward passes per step). The mask step
/// is <see cref="MaskSet.Step"/>, so the sparsity stays exact.
/// </summary>
public sealed class MagnitudePruner : IPruner
{
    /// <summary>Creates the pruner with <paramref name="objective"/> for fine-tuning (cross-entropy on clean images by default).</summary>
    public MagnitudePruner(MagnitudePruningOptions? options = null, ITrainingObjective? objective = null, string name = "magnitude")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Options = (options ?? new MagnitudePruningOptions()).Validate();
        Objective = objective ?? CrossEntropyObjective.Instance;
        Name = name;
    }

    /// <summary>Naive pruning: magnitude prune, then clean cross-entropy fine-tuning.</summary>
    public static MagnitudePruner Naive(MagnitudePruningOptions? options = null) => new(options, CrossEntropyObjective.Instance, "magnitude");

    /// <summary>Adversarial pruning: magnitude prune, then PGD adversarial fine-tuning (PGD-10, eps 8/255, step 2/255 by default).</summary>
    public static MagnitudePruner Adversarial(MagnitudePruningOptions? options = null, Attacks.PgdOptions? pgd = null) =>
        new(options, new PgdAdversarialObjective(pgd ?? PgdAdversarialObjective.MadryDefaults with { Steps = 10 }), "adversarial");

    /// <summary>How this pruner prunes.</summary>
    public MagnitudePruningOptions Options { get; }

    /// <summary>The fine-tuning objective.</summary>
    public ITrainingObjective Objective { get; }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public double Sparsity => Options.Sparsity;

    /// <inheritdoc />
    public PruningResult Prune(Classifier teacher, IImageCollection train, IProgress<PruningProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(train);
        Evaluator.CheckCompatible(teacher, train, nameof(train));
        var o = Options;
        int batchesPerEpoch = (train.Count + o.BatchSize - 1) / o.BatchSize;
        var wall = Stopwatch.StartNew();
        torch.random.manual_seed(o.Seed);
        var rng = new Random(o.Seed);
        var student = teacher.Clone();
        try
        {
            var phases = new List<PhaseTiming>();
            var history = new List<PruningEpoch>();
            var pruneClock = Stopwatch.StartNew();
            using var masks = MaskSet.ByMagnitude(student, o.Sparsity);
            masks.Apply(student);
            phases.Add(new PhaseTiming(PruningPhase.HardPrune, 0, pruneClock.Elapsed));

            if (o.Epochs > 0)
            {
                var clock = Stopwatch.StartNew();
                var schedule = new CosineLearningRate(o.Epochs, o.FinalLearningRate / o.LearningRate);
                var sampler = new ShuffledBatches(o.BatchSize);
                using var generator = new Generator((ulong)o.Seed);
                using var source = new TrainingBatchSource(train, student.Device);
                using var optimizer = optim.SGD(student.Network.parameters(), o.LearningRate, o.Momentum, 0, o.WeightDecay);
                using var loop = new TrainingLoop(student, optimizer, Objective, source, masks, o.Augmentation, o.Augmentation is null ? null : generator);
                for (int epoch = 0; epoch < o.Epochs; epoch++)
                {
                    var epochClock = Stopwatch.StartNew();
                    student.Train();
                    int e = epoch;
                    var totals = loop.RunEpoch(sampler, train.Count, epoch, o.Epochs, rng,
                        batch => schedule.LearningRate(o.LearningRate, e, batch, batchesPerEpoch),
                        batch =>
                        {
                            if (progress is not null && (batch % o.ProgressInterval == 0 || batch == batchesPerEpoch))
                                progress.Report(new PruningProgress(PruningPhase.Retrain, e, o.Epochs, batch, batchesPerEpoch, loop.MeanLoss, loop.LearningRate, wall.Elapsed));
                        },
                        cancellationToken);
                    history.Add(new PruningEpoch(PruningPhase.Retrain, epoch, totals.MeanLoss, 0, 0, 0, totals.LearningRate, null, epochClock.Elapsed));
                }
                phases.Add(new PhaseTiming(PruningPhase.Retrain, o.Epochs, clock.Elapsed));
            }

            student.Eval();
            return new PruningResult(student, SparsityReport.Measure(student, masks), phases, history, wall.Elapsed);
        }
        catch
        {
            student.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"{Name} (sparsity {Sparsity}, fine-tuning: {Objective})";
}
