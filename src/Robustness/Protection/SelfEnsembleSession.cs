using Robustness.Optimization;
using Robustness.Data;
using Robustness.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Protection;

/// <summary>
/// A <see cref="SelfEnsembleProtection"/> prepared on one clean collection: it holds the class centres of the feature
/// variants and crafts batches (see the protector for the method). Dispose it to free the centres.
/// </summary>
public sealed class SelfEnsembleSession : IProtectionSession
{
    private readonly SelfEnsembleProtection _owner;
    private readonly ClassFeatureCentres[]? _centres;
    private bool _disposed;

    internal SelfEnsembleSession(SelfEnsembleProtection owner, ClassFeatureCentres[]? centres)
    {
        _owner = owner;
        _centres = centres;
    }

    /// <summary>
    /// A copy of checkpoint <paramref name="checkpoint"/>'s class centres, float32 [Classes, FeatureSize] on the
    /// checkpoints' device; null for SEP (which needs none) or when the budget is zero levels.
    /// </summary>
    public Tensor? CopyClassCentres(int checkpoint)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_centres is null) return null;
        if (checkpoint < 0 || checkpoint >= _centres.Length)
            throw new ArgumentOutOfRangeException(nameof(checkpoint), checkpoint, $"checkpoint must be in [0, {_centres.Length - 1}].");
        return _centres[checkpoint].Centres.clone();
    }

    /// <inheritdoc />
    public Tensor Protect(ImageBatch batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ObjectDisposedException.ThrowIf(_disposed, this);
        ObjectDisposedException.ThrowIf(_owner.IsDisposed, _owner);
        cancellationToken.ThrowIfCancellationRequested();
        var options = _owner.Options;
        using var scope = NewDisposeScope();
        if (ProtectionQuantizer.Levels(options.Epsilon) == 0 || batch.Count == 0)
            return ProtectionQuantizer.Quantize(batch.Images, batch.Images, options.Epsilon).MoveToOuterDisposeScope();

        var device = _owner.Device;
        var clean = batch.Images.to(device);
        var labels = batch.Labels.to(device);
        CheckLabels(labels, _owner.Checkpoints[0].Classes);
        var targets = _owner.Targets(labels);

        // Images of another size than the model's (or any size, with transforms) are crafted at their own resolution
        // through the view the model gets of them.
        var views = CraftingViews.For(_owner.Checkpoints[0].Spec.ImageSize, clean.shape[2], clean.shape[3], options.ExpectationOverTransforms,
            ProtectionOptions.BatchSeed(options.Seed, batch.Indices[0]) ^ ViewSeedSalt);
        var modes = _owner.Checkpoints.Select(c => c.EvalMode()).ToList();
        // On the CPU the checkpoints and the iterate are channels-last for the batch (see ChannelsLast: about a quarter
        // faster under the kernel guard); the weights are plain NCHW again afterwards, as the caller gave them.
        bool channelsLast = ChannelsLast.Applies(device);
        Tensor perturbed;
        try
        {
            // Inside the try, so that a failure part-way still restores what was changed before it.
            if (channelsLast)
                foreach (var checkpoint in _owner.Checkpoints) modes.Add(ChannelsLast.Weights(checkpoint));
            var objective = new CheckpointObjective(_owner, _centres);
            var start = channelsLast ? ChannelsLast.Of(clean) : clean;
            perturbed = options.Variant == SepVariant.FeatureAlignmentVarianceReduction
                ? VarianceReducedDescent(objective, start, targets, batch.Indices[0], views, cancellationToken)
                : EnsembleDescent(objective, start, targets, views, cancellationToken);
        }
        finally
        {
            for (int i = modes.Count - 1; i >= 0; i--) modes[i].Dispose();
        }
        return ProtectionQuantizer.Quantize(clean, perturbed.contiguous(), options.Epsilon).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_centres is not null)
            foreach (var c in _centres) c.Dispose();
    }

    // SEP and SEP-FA: the engine descends the mean of the K checkpoints' losses, T signed steps in the l-inf box.
    private Tensor EnsembleDescent(CheckpointObjective objective, Tensor clean, Tensor targets, CraftingViews? views, CancellationToken cancellationToken)
    {
        using var box = new LinfBox(clean, _owner.Options.Epsilon);
        return Engine().Run(clean, box, new EnsembleObjective(objective, targets, views), _owner.Options.Iterations, cancellationToken);
    }

    // Keeps the views' draws apart from SEP-FA-VR's checkpoint draws, which start from the same batch seed.
    private const ulong ViewSeedSalt = 0x5EB5_1E3A_9D2C_7F01UL;

    // Signed descent steps of SEP's step size (the paper's 1/255 by default).
    private ProjectedGradientMethod Engine() =>
        new(new SteepestStep(Attacks.Norm.Linf, _owner.Options.StepSize), StepDirection.Descend);

    // SEP-FA-VR: the SVRE loop. The accumulated G (not the latest inner gradient) drives both the inner and the
    // outer step, as in SVRE and the public SEP code.
    // With views, one draw per outer iteration serves its K gradients and its M inner steps, so the control variate
    // g_r - g compares gradients of the same view.
    private Tensor VarianceReducedDescent(CheckpointObjective objective, Tensor clean, Tensor targets, int firstIndex, CraftingViews? views,
        CancellationToken cancellationToken)
    {
        var options = _owner.Options;
        int k = objective.Count, t = options.Iterations, m = options.InnerSteps;
        long[] draws;
        using (var generator = new Generator(ProtectionOptions.BatchSeed(options.Seed, firstIndex)))
        using (var drawn = randint(0, k, [(long)t * m], generator: generator, dtype: int64))
            draws = drawn.data<long>().ToArray();

        using var box = new LinfBox(clean, options.Epsilon);
        var engine = Engine();
        using Scalar count = k.ToScalar();
        var x = clean;
        for (int iteration = 0; iteration < t; iteration++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var draw = views?.Draw((int)x.shape[0], (int)x.shape[2], (int)x.shape[3]);
            Tensor Gradient(int checkpoint, Tensor at) => views is null
                ? objective.Gradient(checkpoint, at, targets)
                : views.Gradient(at, draw!, v => objective.Gradient(checkpoint, v, targets));
            var gradients = new Tensor[k];
            for (int i = 0; i < k; i++) gradients[i] = Gradient(i, x);
            var mean = gradients[0].clone();
            for (int i = 1; i < k; i++) mean.add_(gradients[i]);
            mean.div_(count);

            var accumulated = zeros_like(x);
            var inner = x;
            for (int j = 0; j < m; j++)
            {
                using var innerScope = NewDisposeScope();
                int r = (int)draws[iteration * m + j];
                var g = Gradient(r, inner);
                accumulated.add_(g.sub(gradients[r].sub(mean)));
                inner = Replace(inner, x, engine.Step(inner, accumulated, box).MoveToOuterDisposeScope());
            }
            var next = engine.Step(x, accumulated, box).MoveToOuterDisposeScope();
            x = Replace(x, clean, next);
        }
        return x;
    }

    // Swaps the iterate, freeing the old one early unless it is the tensor the loop started from.
    private static Tensor Replace(Tensor previous, Tensor start, Tensor next)
    {
        if (!ReferenceEquals(previous, start)) previous.Dispose();
        return next;
    }

    private static void CheckLabels(Tensor labels, int classes)
    {
        long min = labels.min().item<long>(), max = labels.max().item<long>();
        if (min < 0 || max >= classes)
            throw new ArgumentException($"Batch labels must be in [0, {classes - 1}] (the checkpoints' classes); found [{min}, {max}].", "batch");
    }

    // The mean loss of the K checkpoints towards the targets, as the engine's objective. The session holds the
    // checkpoints in eval mode for the whole batch, so a run changes no mode.
    // With views, each step draws its views once and carries the checkpoints' mean gradient back through them.
    private sealed class EnsembleObjective(CheckpointObjective objective, Tensor targets, CraftingViews? views) : IGradientObjective
    {
        public IDisposable Begin() => NoMode.Instance;

        public Tensor Gradient(Tensor x) => views is null
            ? objective.MeanGradient(x, targets)
            : views.Gradient(x, views.Draw((int)x.shape[0], (int)x.shape[2], (int)x.shape[3]), v => objective.MeanGradient(v, targets));
    }

    private sealed class NoMode : IDisposable
    {
        public static NoMode Instance { get; } = new();

        public void Dispose() { }
    }
}
