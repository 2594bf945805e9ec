using Robustness.Validation;
using Robustness.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Training;

/// <summary>
/// Measures clean accuracy, overall and per class, in batches without gradients and in eval mode (the mode the
/// classifier was in is restored afterwards). Counts accumulate on the device and are read once at the end.
/// </summary>
public sealed class Evaluator
{
    /// <summary>Creates an evaluator that reads <paramref name="batchSize"/> images at a time.</summary>
    public Evaluator(int batchSize = 256)
    {
        Require.BatchSize(batchSize, nameof(batchSize));
        BatchSize = batchSize;
    }

    /// <summary>Images per forward pass.</summary>
    public int BatchSize { get; }

    /// <summary>Accuracy of <paramref name="classifier"/> on <paramref name="data"/>, on the classifier's device.</summary>
    public AccuracyReport Evaluate(Classifier classifier, IImageCollection data, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(data);
        CheckCompatible(classifier, data, nameof(data));
        int classes = classifier.Classes;
        var device = classifier.Device;

        using var mode = classifier.EvalMode();
        using var noGrad = torch.no_grad();
        using var counts = torch.zeros(classes, ScalarType.Int64, device).DetachFromDisposeScope();
        using var correct = torch.zeros(classes, ScalarType.Int64, device).DetachFromDisposeScope();
        using var one = 1.ToScalar();
        foreach (int[] indices in ImageBatches.Plan(data.Count, BatchSize))
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = torch.NewDisposeScope();
            using var batch = ImageBatches.Read(data, indices, device);
            var hits = classifier.Forward(batch.Images).argmax(1).eq(batch.Labels).to_type(ScalarType.Int64);
            counts.index_add_(0, batch.Labels, torch.ones_like(hits), one);
            correct.index_add_(0, batch.Labels, hits, one);
        }

        long[] perClassCount, perClassCorrect;
        using (var readScope = torch.NewDisposeScope())
        {
            perClassCount = counts.cpu().data<long>().ToArray();
            perClassCorrect = correct.cpu().data<long>().ToArray();
        }
        var classesReport = Enumerable.Range(0, classes)
            .Select(c => new ClassAccuracy(c, data.ClassNames[c], perClassCount[c], perClassCorrect[c]))
            .ToArray();
        return new AccuracyReport(perClassCount.Sum(), perClassCorrect.Sum(), classesReport);
    }

    /// <summary>The collection must match the classifier's input channels and class count, and hold images.</summary>
    internal static void CheckCompatible(Classifier classifier, IImageCollection data, string parameterName)
    {
        if (data.Count == 0) throw new ArgumentException("The collection holds no images.", parameterName);
        if (data.Channels != classifier.Spec.InputChannels)
            throw new ArgumentException($"The collection has {data.Channels} channels; the classifier takes {classifier.Spec.InputChannels}.", parameterName);
        if (data.ClassNames.Count != classifier.Classes)
            throw new ArgumentException($"The collection has {data.ClassNames.Count} classes; the classifier has {classifier.Classes}.", parameterName);
    }
}
