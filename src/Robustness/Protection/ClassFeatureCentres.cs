using Robustness.Validation;
using Robustness.Data;
using Robustness.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Protection;

/// <summary>
/// The mean penultimate feature of each class of a clean collection under one classifier, in evaluation mode: SEP-FA's
/// class centres mu[c] (Chen et al., ICLR 2023). Computed once, in batches, without gradients; the classifier's
/// train/eval mode is restored afterwards and its weights are never touched.
/// </summary>
public sealed class ClassFeatureCentres : IDisposable
{
    private ClassFeatureCentres(Tensor centres, long[] counts)
    {
        Centres = centres;
        Counts = counts;
    }

    /// <summary>Batch size of the feature pass when none is given.</summary>
    public const int DefaultBatchSize = 256;

    /// <summary>The centres, float32 [Classes, FeatureSize] on the classifier's device; rows of classes without images are zero.</summary>
    public Tensor Centres { get; }

    /// <summary>Clean images counted per class.</summary>
    public IReadOnlyList<long> Counts { get; }

    /// <summary>
    /// Computes the centres of <paramref name="clean"/> under <paramref name="classifier"/> (whose network must expose its
    /// penultimate features). <paramref name="imagesDone"/> is called after each batch with the images done so far.
    /// Labels outside [0, Classes) raise <see cref="ArgumentException"/> naming <paramref name="clean"/>.
    /// </summary>
    public static ClassFeatureCentres Compute(Classifier classifier, IImageCollection clean, int batchSize = DefaultBatchSize,
        Action<int>? imagesDone = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(clean);
        Require.BatchSize(batchSize, nameof(batchSize));
        int classes = classifier.Classes;
        var counts = new long[classes];
        for (int i = 0; i < clean.Count; i++)
        {
            long label = clean.GetLabel(i);
            if (label < 0 || label >= classes)
                throw new ArgumentException($"Image {i} has label {label}; the classifier has {classes} classes.", nameof(clean));
            counts[label]++;
        }

        int featureSize = classifier.FeatureNetwork.FeatureSize;
        // Sums in float64 so the centres barely depend on how the collection is cut into batches.
        var sums = zeros([classes, featureSize], float64, classifier.Device).DetachFromDisposeScope();
        try
        {
            using (classifier.EvalMode())
            using (no_grad())
            {
                int done = 0;
                foreach (var indices in ImageBatches.Plan(clean.Count, batchSize))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    using var scope = NewDisposeScope();
                    using var batch = ImageBatches.Read(clean, indices, classifier.Device);
                    var features = classifier.Features(batch.Images).to(float64);
                    sums.index_add_(0, batch.Labels, features, Scalars.One);
                    done += indices.Length;
                    imagesDone?.Invoke(done);
                }
            }
            using var finish = NewDisposeScope();
            var divisor = tensor(counts.Select(c => (double)Math.Max(c, 1)).ToArray(), float64, classifier.Device).unsqueeze(1);
            var centres = sums.div(divisor).to(float32).DetachFromDisposeScope();
            return new ClassFeatureCentres(centres, counts);
        }
        finally
        {
            sums.Dispose();
        }
    }

    /// <inheritdoc />
    public void Dispose() => Centres.Dispose();
}
