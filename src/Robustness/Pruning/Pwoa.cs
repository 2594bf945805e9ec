using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Robustness.Data;
using Robustness.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Pruning;

/// <summary>
/// PwoA (Pruning without Adversarial examples, ICDM 2022): prunes an adversarially robust classifier and keeps its
/// robustness using clean data only. The student starts as a copy of the teacher; the teacher stays frozen in eval
/// mode and only ever sees clean (augmented) training images, as does the student. Per batch the loss is the
/// self-distillation term alpha T^2 KL(teacher || student), plus the HSIC bottleneck
/// sum_j lambda_x nHSIC(Z_j, X) - lambda_y nHSIC(Z_j, Y) where active, plus the ADMM penalty in the ADMM phase.
/// Phases: ADMM (<see cref="PwoaOptions.AdmmEpochs"/>), hard prune (W = Pi_p(W), mask = W != 0), masked retraining
/// (<see cref="PwoaOptions.RetrainEpochs"/>) with <see cref="MaskSet.Step"/>. Cost per step: one student forward and
/// backward, one teacher forward, and one m x m solve per HSIC layer plus two; no attack is ever run.
/// </summary>
public sealed class Pwoa : IPruner
{
    private readonly ILogger<Pwoa> _logger;

    /// <summary>
    /// Creates the pruner; the options are validated here. <paramref name="name"/> is what <see cref="Name"/> reports:
    /// the ablations are PwoA with other settings, and a catalogue entry such as <c>pwoa-distill-only</c> names itself.
    /// </summary>
    public Pwoa(PwoaOptions? options = null, ILogger<Pwoa>? logger = null, string name = "pwoa")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Options = (options ?? new PwoaOptions()).Validate();
        _logger = logger ?? NullLogger<Pwoa>.Instance;
        Name = name;
    }

    /// <summary>How this pruner prunes.</summary>
    public PwoaOptions Options { get; }

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
        int batchesPerEpoch = train.Count / o.BatchSize; // full batches only: HSIC and batch norm need m >= 2
        if (batchesPerEpoch == 0)
            throw new ArgumentException($"{train.Count} images give no full batch of {o.BatchSize}; lower BatchSize.", nameof(train));

        var wall = Stopwatch.StartNew();
        torch.random.manual_seed(o.Seed);
        var student = teacher.Clone();
        try
        {
            var run = new Run(this, teacher, student, train, batchesPerEpoch, progress, wall, cancellationToken);
            return run.Execute();
        }
        catch
        {
            student.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{Name} (sparsity {Sparsity}, {Options.AdmmEpochs} ADMM + {Options.RetrainEpochs} retraining epochs, batch {Options.BatchSize}, distillation alpha {Options.DistillationAlpha}, HSIC lambda_x {Options.LambdaX:G3} lambda_y {Options.LambdaY:G3})");

    /// <summary>One pruning run: its state, phase by phase.</summary>
    private sealed class Run
    {
        private readonly Pwoa _owner;
        private readonly PwoaOptions _o;
        private readonly Classifier _teacher;
        private readonly Classifier _student;
        private readonly IImageCollection _train;
        private readonly int _batchesPerEpoch;
        private readonly IProgress<PruningProgress>? _progress;
        private readonly Stopwatch _wall;
        private readonly CancellationToken _cancellationToken;
        private readonly Random _rng;
        private readonly ShuffledBatches _sampler;
        private readonly SelfDistillationLoss _distillation;
        private readonly HsicBottleneckLoss? _hsic;
        private readonly List<PruningEpoch> _history = [];
        private readonly List<PhaseTiming> _phases = [];

        public Run(Pwoa owner, Classifier teacher, Classifier student, IImageCollection train, int batchesPerEpoch,
            IProgress<PruningProgress>? progress, Stopwatch wall, CancellationToken cancellationToken)
        {
            _owner = owner;
            _o = owner.Options;
            _teacher = teacher;
            _student = student;
            _train = train;
            _batchesPerEpoch = batchesPerEpoch;
            _progress = progress;
            _wall = wall;
            _cancellationToken = cancellationToken;
            _rng = new Random(_o.Seed);
            _sampler = new ShuffledBatches(_o.BatchSize, dropLast: true);
            _distillation = new SelfDistillationLoss(_o.Temperature, _o.DistillationAlpha);
            _hsic = _o.UsesHsic ? new HsicBottleneckLoss(student.Classes, _o.LambdaX, _o.LambdaY, _o.HsicSigma, _o.HsicEpsilon, _o.HsicFloat64) : null;
        }

        public PruningResult Execute()
        {
            // The teacher is frozen: eval mode (restored afterwards) and forwards under no_grad only.
            using var teacherMode = _teacher.EvalMode();
            using var augmentationGenerator = new Generator((ulong)_o.Seed);
            using var source = new TrainingBatchSource(_train, _student.Device);
            var parameters = PrunableParameters.Select(_student);
            _owner._logger.LogInformation("PwoA: {Architecture}, {Layers} pruned tensors at sparsity {Sparsity}, {Admm} ADMM + {Retrain} retraining epochs of {Batches} batches of {BatchSize}, seed {Seed}.",
                _student.Spec.Architecture, parameters.Count, _o.Sparsity, _o.AdmmEpochs, _o.RetrainEpochs, _batchesPerEpoch, _o.BatchSize, _o.Seed);

            if (_o.AdmmEpochs > 0)
            {
                var clock = Stopwatch.StartNew();
                using var admm = new AdmmState(parameters, _o.Sparsity);
                using var optimizer = optim.SGD(_student.Network.parameters(), _o.AdmmLearningRate, _o.Momentum, 0, _o.WeightDecay);
                using var capture = _o.HsicInAdmm && _hsic is not null ? new RepresentationCapture(_student, _o.RepresentationLayers) : null;
                var objective = new PwoaObjective(_teacher, _o.DistillationAlpha > 0 ? _distillation : null, _hsic, capture, admm);
                using var loop = new TrainingLoop(_student, optimizer, objective, source, OptimizerStep.Instance, _o.Augmentation, augmentationGenerator);
                for (int epoch = 0; epoch < _o.AdmmEpochs; epoch++)
                {
                    admm.BeginEpoch(epoch, _o.Admm);
                    double lr = _o.AdmmLearningRate * _o.Admm.LearningRateFactor(epoch);
                    RunEpoch(PruningPhase.Admm, epoch, _o.AdmmEpochs, loop, _ => lr, admm.Rho);
                }
                _phases.Add(new PhaseTiming(PruningPhase.Admm, _o.AdmmEpochs, clock.Elapsed));
            }

            var pruneClock = Stopwatch.StartNew();
            foreach (var p in parameters) MagnitudeProjection.ProjectInPlace(p.Weight, _o.Sparsity);
            var masks = MaskSet.FromNonZeros(parameters);
            try
            {
                _phases.Add(new PhaseTiming(PruningPhase.HardPrune, 0, pruneClock.Elapsed));

                if (_o.RetrainEpochs > 0)
                {
                    var clock = Stopwatch.StartNew();
                    var schedule = new CosineLearningRate(_o.RetrainEpochs, _o.RetrainFinalLearningRate / _o.RetrainLearningRate);
                    using var optimizer = optim.SGD(_student.Network.parameters(), _o.RetrainLearningRate, _o.Momentum, 0, _o.WeightDecay);
                    using var capture = _hsic is not null ? new RepresentationCapture(_student, _o.RepresentationLayers) : null;
                    var objective = new PwoaObjective(_teacher, _o.DistillationAlpha > 0 ? _distillation : null, _hsic, capture, admm: null);
                    using var loop = new TrainingLoop(_student, optimizer, objective, source, masks, _o.Augmentation, augmentationGenerator);
                    for (int epoch = 0; epoch < _o.RetrainEpochs; epoch++)
                    {
                        int e = epoch;
                        RunEpoch(PruningPhase.Retrain, epoch, _o.RetrainEpochs, loop,
                            batch => schedule.LearningRate(_o.RetrainLearningRate, e, batch, _batchesPerEpoch), rho: null);
                    }
                    _phases.Add(new PhaseTiming(PruningPhase.Retrain, _o.RetrainEpochs, clock.Elapsed));
                }

                _student.Eval();
                var report = SparsityReport.Measure(_student, masks);
                _owner._logger.LogInformation("PwoA done in {Elapsed}: overall sparsity {Sparsity:P2} over {Tensors} tensors.", _wall.Elapsed, report.Overall, report.Layers.Count);
                return new PruningResult(_student, report, _phases, _history, _wall.Elapsed);
            }
            finally
            {
                masks.Dispose();
            }
        }

        private void RunEpoch(PruningPhase phase, int epoch, int epochs, TrainingLoop loop, Func<int, double> learningRate, double? rho)
        {
            var clock = Stopwatch.StartNew();
            _student.Train();
            var totals = loop.RunEpoch(_sampler, _train.Count, epoch, epochs, _rng, learningRate,
                batch =>
                {
                    if (_progress is not null && (batch % _o.ProgressInterval == 0 || batch == _batchesPerEpoch))
                        _progress.Report(new PruningProgress(phase, epoch, epochs, batch, _batchesPerEpoch, loop.MeanLoss, loop.LearningRate, _wall.Elapsed));
                },
                _cancellationToken);
            // The objective reports [total, distillation, hsic, admm] per batch; the loop averages them over the epoch.
            var mean = totals.MeanTerms;
            double lr = totals.LearningRate;
            _history.Add(new PruningEpoch(phase, epoch, mean[0], mean[1], mean[2], mean[3], lr, rho, clock.Elapsed));
            _owner._logger.LogInformation("PwoA {Phase} epoch {Epoch}/{Epochs}: loss {Loss:G5} (distillation {Distillation:G5}, hsic {Hsic:G5}, admm {Admm:G5}), lr {LearningRate:G4}{Rho}.",
                phase, epoch + 1, epochs, mean[0], mean[1], mean[2], mean[3], lr, rho is double r ? $", rho {r:G4}" : "");
        }
    }

    /// <summary>
    /// PwoA's loss on one batch: self-distillation from the frozen teacher (forwarded under no_grad), the HSIC
    /// bottleneck on the captured representations, and the ADMM penalty (during the ADMM phase); it reports the
    /// four as terms [total, distillation, hsic, admm]. No adversarial example is ever made.
    /// </summary>
    private sealed class PwoaObjective(Classifier teacher, SelfDistillationLoss? distillation, HsicBottleneckLoss? hsic,
        RepresentationCapture? capture, AdmmState? admm) : ITrainingObjective
    {
        public ObjectiveOutput Compute(Classifier classifier, Tensor images, Tensor labels, TrainingStep step)
        {
            var studentLogits = classifier.Forward(images);
            var zero = torch.zeros(Array.Empty<long>(), ScalarType.Float32, classifier.Device);
            var distillationLoss = zero;
            if (distillation is not null)
            {
                Tensor teacherLogits;
                using (torch.no_grad()) teacherLogits = teacher.Forward(images);
                distillationLoss = distillation.Compute(studentLogits, teacherLogits);
            }
            var hsicLoss = capture is not null ? hsic!.Compute(images, labels, capture.Take()) : zero;
            var penalty = admm is not null ? admm.Penalty() : zero;
            var loss = distillationLoss + hsicLoss + penalty;
            var terms = torch.stack([loss.detach(), distillationLoss.detach(), hsicLoss.detach(), penalty.detach()]);
            return new ObjectiveOutput(loss, studentLogits, terms);
        }

        public override string ToString() => "PwoA (self-distillation + HSIC + ADMM)";
    }
}
