using Robustness.Optimization;
using Robustness.Training;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Robustness.Attacks;
using Robustness.Data;
using Robustness.Models;
using Robustness.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Protection;

/// <summary>
/// Sample-wise error-minimising noise, the "unlearnable examples" of Huang, Ma, Erfani, Bailey and Wang, "Unlearnable
/// Examples: Making Personal Data Unexploitable", ICLR 2021: noise that makes every image <i>easier</i> to classify as
/// its own label, so a model trained on the protected set learns the noise instead of the content. A baseline of the
/// SEP paper.
/// </summary>
/// <remarks>
/// <para>The min-min bilevel loop runs once in <see cref="Prepare"/> over the whole collection. Per-image noise starts
/// at zero (or uniform in [-eps, eps] with <see cref="ErrorMinimizingNoiseOptions.RandomStart"/>). Each round: (1) a
/// surrogate model is trained for <see cref="ErrorMinimizingNoiseOptions.TrainSteps"/> SGD batches (cycling through the
/// collection in order, continuing where the previous round stopped, or shuffled with
/// <see cref="ErrorMinimizingNoiseOptions.ShuffleBatches"/>) on the currently perturbed images, in train mode, without
/// augmentation; (2) in eval mode, every image's noise is updated by <see cref="ErrorMinimizingNoiseOptions.PgdSteps"/>
/// PGD steps that <b>minimise</b> the cross-entropy of the true label (x &lt;- x - step * sign(grad), projected onto the
/// l-inf ball of eps around the clean image and onto [0,1]), starting from its current noise; (3) the surrogate's
/// accuracy on the perturbed set is measured (eval mode) and the loop stops once it exceeds
/// <see cref="ErrorMinimizingNoiseOptions.StopAccuracy"/>, or after <see cref="ErrorMinimizingNoiseOptions.MaxRounds"/>
/// rounds. Paper defaults: eps 8/255, 20 steps of 0.8/255, 10 training batches, stop at 99%, SGD lr 0.1, momentum 0.9,
/// weight decay 5e-4, ResNet-18 surrogate (here a small CNN by default, see <see cref="ErrorMinimizingNoiseOptions.Surrogate"/>).</para>
/// <para>Memory: the noise of every image is kept as float32 [N, C, H, W] in CPU memory until the session is disposed:
/// 12 KB per 32x32 RGB image (600 MB for CIFAR-10's 50,000). The session's <see cref="IProtectionSession.Protect"/> looks
/// up each batch's indices in it and quantises clean + noise with <see cref="ProtectionQuantizer"/>.</para>
/// <para>Determinism: the seed fixes the surrogate's initial weights, the noise's random start and the shuffled batch order,
/// so the same seed gives the same bytes on the CPU. The surrogate is this method's own model; nothing the caller owns
/// is changed.</para>
/// </remarks>
public sealed class ErrorMinimizingNoise : IDataProtector
{
    private readonly ILogger _logger;

    /// <summary>Creates the protector; the options are validated here.</summary>
    public ErrorMinimizingNoise(ErrorMinimizingNoiseOptions? options = null, ILogger<ErrorMinimizingNoise>? logger = null)
    {
        Options = options ?? new ErrorMinimizingNoiseOptions();
        Options.Validate();
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <summary>
    /// The catalogue entry. From <see cref="ProtectorSettings"/> it reads Epsilon, Seed, Device, SurrogateSpec,
    /// Iterations (as <see cref="ErrorMinimizingNoiseOptions.PgdSteps"/>) and StepSize.
    /// </summary>
    public static ProtectorDefinition Definition { get; } = new(
        "error-minimizing",
        "Sample-wise error-minimising noise, unlearnable examples (Huang et al., ICLR 2021)",
        NeedsCheckpoints: false,
        s => new ErrorMinimizingNoise(new ErrorMinimizingNoiseOptions
        {
            Epsilon = s.Epsilon,
            Seed = s.Seed,
            Device = s.Device,
            Surrogate = s.SurrogateSpec,
            Families = s.Families,
            PgdSteps = s.Steps ?? 20,
            StepSize = s.StepSize,
        }))
    {
        Reads = [nameof(ProtectorSettings.Epsilon), nameof(ProtectorSettings.Steps), nameof(ProtectorSettings.StepSize),
            nameof(ProtectorSettings.SurrogateSpec), nameof(ProtectorSettings.Families), nameof(ProtectorSettings.Device), nameof(ProtectorSettings.Seed)],
    };

    /// <summary>The options.</summary>
    public ErrorMinimizingNoiseOptions Options { get; }

    /// <inheritdoc />
    public string Name => "error-minimizing";

    /// <inheritdoc />
    public double Epsilon => Options.Epsilon;

    /// <summary>
    /// Learns the noise of every image of <paramref name="clean"/> (the min-min loop; see the class remarks) and returns
    /// the session holding it. Progress: stage <c>prepare</c>, counting image updates, out of MaxRounds x N (the loop
    /// usually stops earlier). Cancellation is honoured between batches.
    /// </summary>
    public IProtectionSession Prepare(IImageCollection clean, IProgress<ProtectionProgress>? progress = null, CancellationToken cancellationToken = default) =>
        PrepareSession(clean, progress, cancellationToken);

    /// <summary><see cref="Prepare"/> with the concrete session type, which reports how the loop ended.</summary>
    public ErrorMinimizingSession PrepareSession(IImageCollection clean, IProgress<ProtectionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(clean);
        if (clean.Count < 2) throw new ArgumentException($"Error-minimising noise needs at least 2 images to train its surrogate; the collection has {clean.Count}.", nameof(clean));
        var set = clean as ImageSet ?? ImageSet.From(clean);
        var o = Options;
        var device = o.Device ?? torch.CPU;
        var spec = (o.Surrogate ?? new ModelSpec("small-cnn", Width: ErrorMinimizingNoiseOptions.DefaultSurrogateWidth))
            with { Classes = set.ClassNames.Count, InputChannels = set.Channels, ImageSize = set.Height };

        // The noise lives outside every dispose scope for the life of the session.
        Tensor noise;
        if (o.RandomStart)
        {
            using var generator = new Generator(unchecked((ulong)o.Seed));
            using Scalar width = (2 * o.Epsilon).ToScalar(), radius = o.Epsilon.ToScalar();
            noise = torch.rand([set.Count, set.Channels, set.Height, set.Width], generator: generator)
                .mul_(width).sub_(radius).DetachFromDisposeScope();
        }
        else
        {
            noise = torch.zeros([set.Count, set.Channels, set.Height, set.Width]).DetachFromDisposeScope();
        }
        try
        {
            using var surrogate = Classifier.Create(spec, classNames: set.ClassNames, device: device, seed: o.Seed, families: o.Families);
            var (rounds, accuracy) = Learn(set, surrogate, noise, progress, cancellationToken);
            bool converged = accuracy > o.StopAccuracy;
            if (converged)
                _logger.LogInformation("Error-minimising noise: surrogate accuracy {Accuracy:P2} on the perturbed set after {Rounds} rounds.", accuracy, rounds);
            else
                _logger.LogWarning("Error-minimising noise stopped at MaxRounds = {Rounds} with surrogate accuracy {Accuracy:P2} (target > {Target:P2}); the noise may protect less.",
                    rounds, accuracy, o.StopAccuracy);
            return new ErrorMinimizingSession(noise, o.Epsilon, set.Channels, set.Height, set.Width, rounds, accuracy, converged);
        }
        catch
        {
            noise.Dispose();
            throw;
        }
    }

    private (int Rounds, double Accuracy) Learn(ImageSet set, Classifier surrogate, Tensor noise,
        IProgress<ProtectionProgress>? progress, CancellationToken cancellationToken)
    {
        var o = Options;
        var watch = Stopwatch.StartNew();
        using var optimizer = torch.optim.SGD(surrogate.Network.parameters(), o.LearningRate, o.Momentum, 0, o.WeightDecay, false);
        // One pass after another, continuing across rounds, as the paper's code draws from its data loader.
        using var trainingBatches = EndlessBatches(set.Count, o.BatchSize, o.ShuffleBatches ? new Random(o.Seed) : null).GetEnumerator();
        // The surrogate's steps are the shared training loop's, on the images with their current noise.
        using var loop = new TrainingLoop(surrogate, optimizer, CrossEntropyObjective.Instance, new PerturbedImages(set, noise, surrogate.Device));
        var stepRandom = new Random(o.Seed); // the objective draws nothing; TrainingStep carries a source all the same
        long total = (long)o.MaxRounds * set.Count, done = 0;
        double accuracy = 0;
        for (int round = 1; round <= o.MaxRounds; round++)
        {
            using (surrogate.TrainMode())
                for (int step = 0; step < o.TrainSteps; step++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    trainingBatches.MoveNext();
                    loop.Step(trainingBatches.Current, new TrainingStep(round - 1, step, o.TrainSteps, o.MaxRounds, stepRandom));
                }

            using (surrogate.EvalMode())
            {
                foreach (int[] indices in ImageBatches.Plan(set.Count, o.BatchSize))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    MinimiseError(set, surrogate, noise, indices);
                    done += indices.Length;
                    progress?.Report(new ProtectionProgress("prepare", (int)Math.Min(done, int.MaxValue), (int)Math.Min(total, int.MaxValue),
                        done / Math.Max(watch.Elapsed.TotalSeconds, 1e-9), watch.Elapsed));
                }
                accuracy = PerturbedAccuracy(set, surrogate, noise, cancellationToken);
            }
            _logger.LogDebug("Error-minimising noise round {Round}: surrogate accuracy {Accuracy:P2} on the perturbed set.", round, accuracy);
            if (accuracy > o.StopAccuracy) return (round, accuracy);
        }
        return (o.MaxRounds, accuracy);
    }

    // The engine descending the true label's cross-entropy in the eps ball around the clean images, from each image's
    // current noise; writes the new noise back. The iterate is kept as the noise (x = clamp(clean + noise) each step),
    // as the paper's code keeps it.
    private void MinimiseError(ImageSet set, Classifier surrogate, Tensor noise, int[] indices)
    {
        var o = Options;
        var engine = new ProjectedGradientMethod(new SteepestStep(Attacks.Norm.Linf, o.EffectiveStepSize), StepDirection.Descend);
        using var scope = torch.NewDisposeScope();
        var index = torch.tensor(indices.Select(i => (long)i).ToArray());
        var clean = set.ToTensor(indices, surrogate.Device);
        var labels = set.LabelsTensor(indices, surrogate.Device);
        var ball = new NormBall(clean, Attacks.Norm.Linf, o.Epsilon);
        var objective = new ClassifierLoss(surrogate, logits => AttackMath.CrossEntropy(logits, labels));
        var delta = noise.index_select(0, index).to(surrogate.Device);
        for (int k = 0; k < o.PgdSteps; k++)
        {
            using var stepScope = torch.NewDisposeScope();
            var x = clean.add(delta).clamp_(Scalars.Zero, Scalars.One);
            delta = engine.Step(x, objective.Gradient(x), ball).sub_(clean).MoveToOuterDisposeScope();
        }
        noise.index_copy_(0, index, delta.cpu());
    }

    private double PerturbedAccuracy(ImageSet set, Classifier surrogate, Tensor noise, CancellationToken cancellationToken)
    {
        using var noGrad = torch.no_grad();
        long correct = 0;
        foreach (int[] indices in ImageBatches.Plan(set.Count, Options.BatchSize))
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = torch.NewDisposeScope();
            var (images, labels) = Perturbed(set, noise, indices, surrogate.Device);
            correct += surrogate.Forward(images).argmax(1).eq(labels).sum().item<long>();
        }
        return (double)correct / set.Count;
    }

    private static (Tensor Images, Tensor Labels) Perturbed(ImageSet set, Tensor noise, int[] indices, Device device)
    {
        var index = torch.tensor(indices.Select(i => (long)i).ToArray());
        var images = set.ToTensor(indices, device).add(noise.index_select(0, index).to(device)).clamp_(Scalars.Zero, Scalars.One);
        return (images, set.LabelsTensor(indices, device));
    }

    /// <summary>Training batches of the clean images plus their current noise, clamped to [0,1].</summary>
    private sealed class PerturbedImages(ImageSet set, Tensor noise, Device device) : ITrainingBatchReader
    {
        public (Tensor Images, Tensor Labels) Read(int[] indices) => Perturbed(set, noise, indices, device);
    }

    // Batch norm cannot train on a batch of one, so a final batch of a single image is left out of training.
    private static IEnumerable<int[]> EndlessBatches(int count, int batchSize, Random? random)
    {
        while (true)
            foreach (int[] batch in ImageBatches.Plan(count, batchSize, random))
                if (batch.Length > 1) yield return batch;
    }
}

/// <summary>
/// A prepared <see cref="ErrorMinimizingNoise"/>: the learnt noise of every image of the collection (float32 [N,C,H,W]
/// in CPU memory, released by <see cref="Dispose"/>) and how the learning loop ended.
/// </summary>
public sealed class ErrorMinimizingSession : IProtectionSession
{
    private readonly Tensor _noise;
    private readonly double _epsilon;
    private readonly int _channels, _height, _width;
    private bool _disposed;

    internal ErrorMinimizingSession(Tensor noise, double epsilon, int channels, int height, int width, int rounds, double accuracy, bool converged)
    {
        _noise = noise;
        _epsilon = epsilon;
        (_channels, _height, _width) = (channels, height, width);
        Rounds = rounds;
        SurrogateAccuracy = accuracy;
        Converged = converged;
    }

    /// <summary>Rounds (train, then perturb every image) the loop ran.</summary>
    public int Rounds { get; }

    /// <summary>The surrogate's accuracy on the perturbed (unquantised) collection after the last round.</summary>
    public double SurrogateAccuracy { get; }

    /// <summary>True when the loop stopped because <see cref="SurrogateAccuracy"/> exceeded the stop accuracy; false when MaxRounds stopped it.</summary>
    public bool Converged { get; }

    /// <summary>Images the noise was learnt for (valid batch indices are 0 to Count - 1).</summary>
    public int Count => (int)_noise.shape[0];

    /// <inheritdoc />
    public Tensor Protect(ImageBatch batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        var shape = batch.Images.shape;
        if (shape.Length != 4 || shape[1] != _channels || shape[2] != _height || shape[3] != _width)
            throw new ArgumentException($"The batch's images are [{string.Join(", ", shape)}]; the prepared collection's are [N, {_channels}, {_height}, {_width}].", nameof(batch));
        foreach (int i in batch.Indices)
            if ((uint)i >= (uint)Count)
                throw new ArgumentOutOfRangeException(nameof(batch), i, $"Batch index {i} is outside the prepared collection [0, {Count - 1}].");
        using var scope = torch.NewDisposeScope();
        var index = torch.tensor(batch.Indices.Select(i => (long)i).ToArray());
        var clean = batch.Images.cpu();
        var perturbed = clean.add(_noise.index_select(0, index)).clamp_(Scalars.Zero, Scalars.One);
        return ProtectionQuantizer.Quantize(clean, perturbed, _epsilon).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _noise.Dispose();
    }
}
