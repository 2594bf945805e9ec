using Robustness.Data;
using static TorchSharp.torch;

namespace Robustness.Training;

/// <summary>
/// Which examples train in each epoch, in which batches. The default (<see cref="ShuffledBatches"/>) is a seeded
/// shuffle of every example; a technique that trains on a chosen subset per epoch (Tri-level E-ViT's example-level
/// sparsity, curriculum schedules) gives its own.
/// </summary>
public interface IBatchSampler
{
    /// <summary>Batches per epoch for a collection of <paramref name="count"/> examples (for progress and per-batch schedules).</summary>
    int BatchesPerEpoch(int count);

    /// <summary>The batches (indices into the collection) of <paramref name="epoch"/>, drawn from the run's <paramref name="random"/>.</summary>
    IEnumerable<int[]> Batches(int epoch, int count, Random random);
}

/// <summary>Every example once per epoch in seeded random order (<see cref="ImageBatches.Plan"/>); optionally without the last short batch.</summary>
public sealed class ShuffledBatches : IBatchSampler
{
    /// <summary>Batches of <paramref name="batchSize"/> (>= 1); <paramref name="dropLast"/> leaves out a last, smaller batch.</summary>
    public ShuffledBatches(int batchSize, bool dropLast = false)
    {
        Validation.Require.AtLeast(batchSize, 1, nameof(batchSize));
        BatchSize = batchSize;
        DropLast = dropLast;
    }

    /// <summary>Examples per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Whether a last, smaller batch is left out.</summary>
    public bool DropLast { get; }

    /// <inheritdoc />
    public int BatchesPerEpoch(int count) => DropLast ? count / BatchSize : (count + BatchSize - 1) / BatchSize;

    /// <inheritdoc />
    public IEnumerable<int[]> Batches(int epoch, int count, Random random) => ImageBatches.Plan(count, BatchSize, random, DropLast);

    /// <inheritdoc />
    public override string ToString() => $"shuffled batches of {BatchSize}{(DropLast ? ", last short batch dropped" : "")}";
}

/// <summary>
/// How the weights move after the backward pass. The default is the optimizer's step; pruning's
/// <see cref="Pruning.MaskSet"/> steps and re-applies its masks so the sparsity stays exact.
/// </summary>
public interface IParameterUpdate
{
    /// <summary>Moves <paramref name="model"/>'s weights with <paramref name="optimizer"/> (gradients are already computed).</summary>
    void Apply(Classifier model, optim.Optimizer optimizer);
}

/// <summary>The optimizer's own step.</summary>
public sealed class OptimizerStep : IParameterUpdate
{
    /// <summary>The shared instance.</summary>
    public static OptimizerStep Instance { get; } = new();

    /// <inheritdoc />
    public void Apply(Classifier model, optim.Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        optimizer.step();
    }

    /// <inheritdoc />
    public override string ToString() => "optimizer step";
}

/// <summary>Reads the images and labels of a batch onto the training device, in the caller's dispose scope.</summary>
public interface ITrainingBatchReader
{
    /// <summary>float32 images in [0,1] and int64 labels of <paramref name="indices"/>.</summary>
    (Tensor Images, Tensor Labels) Read(int[] indices);
}
