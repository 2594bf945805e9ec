using Robustness.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Training;

/// <summary>
/// The one batch loop every training procedure runs (the <see cref="Trainer"/>, PwoA's ADMM and retraining phases,
/// magnitude pruning's fine-tuning, error-minimising noise's surrogate): read a batch, augment it, zero the
/// gradients, compute the objective, backward, update the weights, and add the batch's loss, correct predictions and
/// loss terms to device-side sums. What differs between procedures plugs in: the objective, the weight update
/// (<see cref="IParameterUpdate"/>), which examples each epoch sees (<see cref="IBatchSampler"/>) and how a batch
/// is read (<see cref="ITrainingBatchReader"/>). Seeding stays with the caller, which owns the random sources.
/// </summary>
public sealed class TrainingLoop : IDisposable
{
    private readonly ITrainingBatchReader _reader;
    private readonly IBatchAugmentation? _augmentation;
    private readonly Generator? _augmentationGenerator;
    // Running sums live outside the batch scopes and are only ever updated in place, so the device is never
    // synchronised per batch; they are read at progress reports and at the end of an epoch.
    private readonly Tensor _lossSum;
    private readonly Tensor _correctSum;
    private Tensor? _termSums;
    private double _learningRate = double.NaN;

    /// <summary>
    /// A loop that trains <paramref name="model"/> with <paramref name="optimizer"/> on <paramref name="objective"/>;
    /// <paramref name="augmentation"/> draws on <paramref name="augmentationGenerator"/> (both or neither).
    /// </summary>
    public TrainingLoop(Classifier model, optim.Optimizer optimizer, ITrainingObjective objective, ITrainingBatchReader reader,
        IParameterUpdate? update = null, IBatchAugmentation? augmentation = null, Generator? augmentationGenerator = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(objective);
        ArgumentNullException.ThrowIfNull(reader);
        if (augmentation is not null && augmentationGenerator is null)
            throw new ArgumentNullException(nameof(augmentationGenerator), "An augmentation needs its generator (a seeded CPU generator).");
        Model = model;
        Optimizer = optimizer;
        Objective = objective;
        Update = update ?? OptimizerStep.Instance;
        _reader = reader;
        _augmentation = augmentation;
        _augmentationGenerator = augmentationGenerator;
        _lossSum = torch.zeros(1, ScalarType.Float64, model.Device).DetachFromDisposeScope();
        _correctSum = torch.zeros(1, ScalarType.Int64, model.Device).DetachFromDisposeScope();
    }

    /// <summary>The model being trained.</summary>
    public Classifier Model { get; }

    /// <summary>The optimizer whose learning rate the loop sets.</summary>
    public optim.Optimizer Optimizer { get; }

    /// <summary>What each step minimises.</summary>
    public ITrainingObjective Objective { get; }

    /// <summary>How the weights move after the backward pass.</summary>
    public IParameterUpdate Update { get; }

    /// <summary>Examples added to the sums since <see cref="ResetTotals"/>.</summary>
    public int Seen { get; private set; }

    /// <summary>The learning rate of the last step (NaN before the first).</summary>
    public double LearningRate => _learningRate;

    /// <summary>Sets the optimizer's learning rate when it changes.</summary>
    public void SetLearningRate(double learningRate)
    {
        if (learningRate == _learningRate) return;
        _learningRate = learningRate;
        foreach (var group in Optimizer.ParamGroups) group.LearningRate = learningRate;
    }

    /// <summary>Zeroes the running sums (at the start of an epoch).</summary>
    public void ResetTotals()
    {
        _lossSum.zero_();
        _correctSum.zero_();
        _termSums?.zero_();
        Seen = 0;
    }

    /// <summary>One step on the batch <paramref name="indices"/>, inside its own dispose scope.</summary>
    public void Step(int[] indices, TrainingStep where)
    {
        ArgumentNullException.ThrowIfNull(indices);
        using (var scope = torch.NewDisposeScope())
        {
            var (images, labels) = _reader.Read(indices);
            if (_augmentation is not null) images = _augmentation.Apply(images, _augmentationGenerator!);
            Optimizer.zero_grad();
            var output = Objective.Compute(Model, images, labels, where);
            output.Loss.backward();
            Update.Apply(Model, Optimizer);
            using (torch.no_grad())
            {
                using var weight = ((double)indices.Length).ToScalar(); // the mean loss times the batch size
                _lossSum.add_(output.Loss.detach(), weight);
                _correctSum.add_(output.Logits.detach().argmax(1).eq(labels).sum());
                if (output.Terms is { } terms)
                {
                    _termSums ??= torch.zeros(terms.shape[0], ScalarType.Float64, Model.Device).DetachFromDisposeScope();
                    _termSums.add_(terms.detach().to_type(ScalarType.Float64), weight);
                }
            }
        }
        Seen += indices.Length;
    }

    /// <summary>
    /// One epoch: the sampler's batches, the learning rate of each from <paramref name="learningRate"/> (by batch
    /// index), and <paramref name="afterBatch"/> after each (for progress). Cancellation is honoured between batches.
    /// </summary>
    public EpochTotals RunEpoch(IBatchSampler sampler, int count, int epoch, int epochs, Random random, Func<int, double> learningRate,
        Action<int>? afterBatch = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentNullException.ThrowIfNull(random);
        ArgumentNullException.ThrowIfNull(learningRate);
        ResetTotals();
        int batchesPerEpoch = sampler.BatchesPerEpoch(count), batch = 0;
        foreach (int[] indices in sampler.Batches(epoch, count, random))
        {
            cancellationToken.ThrowIfCancellationRequested();
            SetLearningRate(learningRate(batch));
            Step(indices, new TrainingStep(epoch, batch, batchesPerEpoch, epochs, random));
            batch++;
            afterBatch?.Invoke(batch);
        }
        return Totals(batch);
    }

    /// <summary>The mean loss over <see cref="Seen"/> examples (reads the device).</summary>
    public double MeanLoss => _lossSum.item<double>() / Math.Max(Seen, 1);

    /// <summary>The sums so far as means (reads the device).</summary>
    public EpochTotals Totals(int batches)
    {
        int seen = Math.Max(Seen, 1);
        double[] terms = [];
        if (_termSums is not null)
        {
            using var count = ((double)seen).ToScalar();
            using var means = _termSums.div(count);
            terms = means.data<double>().ToArray();
        }
        return new EpochTotals(Seen, batches, _lossSum.item<double>() / seen, (double)_correctSum.item<long>() / seen, terms, _learningRate);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _lossSum.Dispose();
        _correctSum.Dispose();
        _termSums?.Dispose();
    }
}

/// <summary>What an epoch of <see cref="TrainingLoop"/> added up.</summary>
/// <param name="Seen">Examples trained on.</param>
/// <param name="Batches">Batches run.</param>
/// <param name="MeanLoss">Mean loss per example.</param>
/// <param name="Accuracy">Fraction of examples whose logits' argmax was the label.</param>
/// <param name="MeanTerms">Mean of each loss term the objective reported (<see cref="ObjectiveOutput.Terms"/>), empty if none.</param>
/// <param name="LearningRate">The learning rate of the last batch.</param>
public sealed record EpochTotals(int Seen, int Batches, double MeanLoss, double Accuracy, IReadOnlyList<double> MeanTerms, double LearningRate);
