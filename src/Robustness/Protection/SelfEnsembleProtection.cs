using Robustness.Data;
using Robustness.Models;
using Robustness.Runtime;
using Robustness.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Protection;

/// <summary>
/// Self-Ensemble Protection (Chen et al., "Self-Ensemble Protection: Training Checkpoints Are Good Data Protectors",
/// ICLR 2023, github.com/Sizhe-Chen/SEP): every image is pushed towards the class t = (y + C/2) mod C by T signed
/// steps on the mean of the input gradients of K checkpoints of one training run, within an l-inf ball of radius
/// eps. Models stay in evaluation mode, there is no augmentation and no random start:
/// x &lt;- clip01(clip_to_ball(x0, eps)(x - step * sign(g))), g = (1/K) sum_k grad_x L_k(x).
/// <list type="bullet">
/// <item><description><see cref="SepVariant.Sep"/> (<c>sep</c>): L_k = cross-entropy(f_k(x), t).</description></item>
/// <item><description><see cref="SepVariant.FeatureAlignment"/> (<c>sep-fa</c>): L_k = MSE(phi_k(x), mu_k[t]), with
/// mu_k the clean class centres of checkpoint k (<see cref="ClassFeatureCentres"/>, computed in <see cref="Prepare"/>).</description></item>
/// <item><description><see cref="SepVariant.FeatureAlignmentVarianceReduction"/> (<c>sep-fa-vr</c>): the SVRE inner loop;
/// each outer step computes every g_k and their mean g, then M inner steps on a copy x_v accumulate
/// G += grad L_r(x_v) - (g_r - g) for a uniformly drawn checkpoint r (one draw per inner step for the whole batch, as in
/// the public code) and step x_v by sign(G); finally x steps by sign(G).
/// Unlike the released code, which uses the last checkpoint's centres for every r, the drawn checkpoint's own centres
/// mu_r are used (the paper's intent).</description></item>
/// </list>
/// Losses are per image and summed over the batch (not averaged), so an image's result does not depend on the other
/// images of its batch; the draws of SEP-FA-VR come from a generator seeded with
/// <see cref="ProtectionOptions.BatchSeed"/> of the batch's first index. Gradients are taken with autograd.grad, so
/// no parameter gradient is written and the weights never change. Output: uint8 images through
/// <see cref="ProtectionQuantizer"/>, |delta| &lt;= round(eps*255) exactly. Cost per image: K*T gradient evaluations
/// (SEP, SEP-FA) or T*(K+M) (SEP-FA-VR).
/// </summary>
public sealed class SelfEnsembleProtection : IDataProtector, IDisposable
{
    /// <summary>K used by SEP and SEP-FA when none is given (the README of the public code: 30).</summary>
    public const int DefaultCheckpointCount = 30;

    /// <summary>K used by SEP-FA-VR when none is given (the public code: 15, with M = 15).</summary>
    public const int DefaultVarianceReducedCheckpointCount = 15;

    private readonly Classifier[] _checkpoints;
    private readonly bool _ownsCheckpoints;
    private readonly string _name;
    private long _gradientCalls;
    private bool _disposed;

    /// <summary>
    /// Crafts with <paramref name="checkpoints"/> (at least one; same class count and device; the feature variants need
    /// networks exposing penultimate features, <see cref="IClassifierNetwork"/>). With <paramref name="ownsCheckpoints"/>
    /// the protector disposes them when it is disposed.
    /// </summary>
    public SelfEnsembleProtection(IReadOnlyList<Classifier> checkpoints, SepOptions? options = null, bool ownsCheckpoints = false)
        : this(checkpoints, options, ownsCheckpoints, selectedEpochs: null, name: null)
    {
    }

    private SelfEnsembleProtection(IReadOnlyList<Classifier> checkpoints, SepOptions? options, bool ownsCheckpoints,
        IReadOnlyList<int>? selectedEpochs, string? name)
    {
        ArgumentNullException.ThrowIfNull(checkpoints);
        Options = options ?? new SepOptions();
        Options.Validate();
        if (checkpoints.Count == 0) throw new ArgumentException("At least one checkpoint is needed.", nameof(checkpoints));
        if (checkpoints.Any(c => c is null)) throw new ArgumentException("checkpoints holds a null entry.", nameof(checkpoints));
        var first = checkpoints[0];
        foreach (var c in checkpoints)
        {
            if (c.Classes != first.Classes)
                throw new ArgumentException($"Every checkpoint must have the same classes; found {c.Classes} and {first.Classes}.", nameof(checkpoints));
            if (c.Device.type != first.Device.type || c.Device.index != first.Device.index)
                throw new ArgumentException($"Every checkpoint must live on one device; found {c.Device} and {first.Device}.", nameof(checkpoints));
            if (Options.Variant != SepVariant.Sep && c.Network is not IClassifierNetwork)
                throw new ArgumentException($"{Options.Variant} needs penultimate features; network {c.Network.GetType().Name} does not expose them (IClassifierNetwork).", nameof(checkpoints));
        }
        _checkpoints = checkpoints.ToArray();
        _ownsCheckpoints = ownsCheckpoints;
        SelectedEpochs = selectedEpochs;
        _name = name ?? VariantName(Options.Variant);
    }

    /// <summary>
    /// Takes <paramref name="count"/> checkpoints of <paramref name="set"/> by SEP's rule (<see cref="CheckpointSelection.Select"/>)
    /// and loads them onto <paramref name="device"/> (CPU when null); the protector owns and disposes them.
    /// A count outside [1, set.Count] raises <see cref="ArgumentOutOfRangeException"/> naming it.
    /// </summary>
    public static SelfEnsembleProtection FromCheckpoints(CheckpointSet set, int count, SepOptions? options = null, Device? device = null) =>
        Load(set, count, options, device, name: null);

    /// <summary>
    /// The "final checkpoint only" baseline of the SEP paper, i.e. adversarial poisoning (Fowl et al., "Adversarial
    /// Examples Make Strong Poisons", NeurIPS 2021) as SEP runs it: the targeted SEP loss on the last checkpoint of
    /// <paramref name="set"/> alone (K = 1), named <c>final-checkpoint</c>. <paramref name="options"/> must use
    /// <see cref="SepVariant.Sep"/>.
    /// </summary>
    public static SelfEnsembleProtection FinalCheckpoint(CheckpointSet set, SepOptions? options = null, Device? device = null)
    {
        if (options is not null && options.Variant != SepVariant.Sep)
            throw new ArgumentException($"The final-checkpoint baseline uses the SEP cross-entropy loss; options.Variant is {options.Variant}.", nameof(options));
        return Load(set, 1, options, device, FinalCheckpointDefinition.Name);
    }

    /// <summary>Catalogue entry <c>sep</c>; K defaults to 30, capped at the checkpoints available.</summary>
    public static ProtectorDefinition SepDefinition { get; } = Define("sep", SepVariant.Sep,
        "Self-Ensemble Protection: targeted cross-entropy on K training checkpoints (Chen et al., ICLR 2023)");

    /// <summary>Catalogue entry <c>sep-fa</c>; K defaults to 30, capped at the checkpoints available.</summary>
    public static ProtectorDefinition SepFaDefinition { get; } = Define("sep-fa", SepVariant.FeatureAlignment,
        "SEP with feature alignment to the target class centre of each checkpoint (Chen et al., ICLR 2023)");

    /// <summary>Catalogue entry <c>sep-fa-vr</c>; K defaults to 15, capped at the checkpoints available; M defaults to 15.</summary>
    public static ProtectorDefinition SepFaVrDefinition { get; } = Define("sep-fa-vr", SepVariant.FeatureAlignmentVarianceReduction,
        "SEP-FA with SVRE variance reduction over the checkpoints (Chen et al., ICLR 2023)");

    /// <summary>
    /// Catalogue entry <c>final-checkpoint</c>: the targeted SEP loss on the last checkpoint only (K = 1; the "adversarial
    /// poisoning" baseline of the SEP paper). <see cref="ProtectorSettings.CheckpointCount"/> and
    /// <see cref="ProtectorSettings.InnerSteps"/> are ignored.
    /// </summary>
    public static ProtectorDefinition FinalCheckpointDefinition { get; } = new(
        "final-checkpoint", "Targeted SEP loss on the final checkpoint only, i.e. adversarial poisoning (Fowl et al., NeurIPS 2021; SEP's K=1 baseline)",
        NeedsCheckpoints: true,
        s => FinalCheckpoint(s.Checkpoints!, OptionsFrom(s, SepVariant.Sep), s.Device))
    {
        Reads = [nameof(ProtectorSettings.Epsilon), nameof(ProtectorSettings.Iterations), nameof(ProtectorSettings.StepSize),
            nameof(ProtectorSettings.Checkpoints), nameof(ProtectorSettings.Device), nameof(ProtectorSettings.Seed)],
    };

    /// <summary>The options.</summary>
    public SepOptions Options { get; }

    /// <summary>The epochs taken from a <see cref="CheckpointSet"/> (ascending); null when built from classifiers.</summary>
    public IReadOnlyList<int>? SelectedEpochs { get; }

    /// <summary>K, the number of checkpoints crafted with.</summary>
    public int CheckpointCount => _checkpoints.Length;

    /// <summary>The checkpoints crafted with (not to be disposed by the caller when the protector owns them).</summary>
    public IReadOnlyList<Classifier> Checkpoints => _checkpoints;

    /// <summary>The device the checkpoints live on; batches are moved there.</summary>
    public Device Device => _checkpoints[0].Device;

    /// <summary><c>sep</c>, <c>sep-fa</c> or <c>sep-fa-vr</c> after <see cref="SepOptions.Variant"/>; <c>final-checkpoint</c> when built by <see cref="FinalCheckpoint"/>.</summary>
    public string Name => _name;

    /// <inheritdoc />
    public double Epsilon => Options.Epsilon;

    /// <summary>
    /// Per-checkpoint input-gradient evaluations so far, over every session: one per checkpoint per call
    /// (K*T per batch for SEP and SEP-FA, T*(K+M) for SEP-FA-VR; none when the budget rounds to zero levels).
    /// </summary>
    public long GradientCalls => Interlocked.Read(ref _gradientCalls);

    /// <summary>The catalogue name of <paramref name="variant"/>.</summary>
    public static string VariantName(SepVariant variant) => variant switch
    {
        SepVariant.Sep => "sep",
        SepVariant.FeatureAlignment => "sep-fa",
        SepVariant.FeatureAlignmentVarianceReduction => "sep-fa-vr",
        _ => throw new ArgumentOutOfRangeException(nameof(variant), variant, "Unknown SEP variant."),
    };

    /// <summary>K for <paramref name="variant"/> when none is given: 30 for SEP and SEP-FA, 15 for SEP-FA-VR (before capping at the checkpoints available).</summary>
    public static int DefaultCheckpointCountOf(SepVariant variant) =>
        variant == SepVariant.FeatureAlignmentVarianceReduction ? DefaultVarianceReducedCheckpointCount : DefaultCheckpointCount;

    /// <summary>
    /// Returns a session for batches of <paramref name="clean"/>. For the feature variants this computes every
    /// checkpoint's class centres over <paramref name="clean"/> first (eval mode, reported as stage <c>prepare</c>, in
    /// images over all checkpoints), and fails with <see cref="InvalidOperationException"/> when some image's target
    /// class has no clean image to take a centre from.
    /// </summary>
    public IProtectionSession Prepare(IImageCollection clean, IProgress<ProtectionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(clean);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Options.Variant == SepVariant.Sep || ProtectionQuantizer.Levels(Epsilon) == 0)
            return new SelfEnsembleSession(this, centres: null);
        var centres = ComputeCentres(clean, progress, cancellationToken);
        try
        {
            CheckTargetsHaveCentres(clean, centres[0].Counts);
            return new SelfEnsembleSession(this, centres);
        }
        catch
        {
            foreach (var c in centres) c.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_ownsCheckpoints)
            foreach (var c in _checkpoints) c.Dispose();
    }

    internal bool IsDisposed => _disposed;

    /// <summary>
    /// True: a batch of another size than the checkpoints' input is crafted at its own resolution through the resized
    /// view the checkpoints get of it (<see cref="CraftingViews"/>).
    /// </summary>
    public bool ProtectsAnySize => true;

    internal void CountGradientCall() => Interlocked.Increment(ref _gradientCalls);

    /// <summary>t = (y + C/2) mod C.</summary>
    internal Tensor Targets(Tensor labels)
    {
        int classes = _checkpoints[0].Classes;
        using Scalar shift = (classes / 2).ToScalar(), modulus = classes.ToScalar();
        return labels.add(shift).remainder(modulus);
    }

    private ClassFeatureCentres[] ComputeCentres(IImageCollection clean, IProgress<ProtectionProgress>? progress, CancellationToken cancellationToken)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var centres = new List<ClassFeatureCentres>(_checkpoints.Length);
        try
        {
            for (int k = 0; k < _checkpoints.Length; k++)
            {
                int before = k * clean.Count;
                centres.Add(ClassFeatureCentres.Compute(_checkpoints[k], clean, cancellationToken: cancellationToken,
                    imagesDone: done => progress?.Report(new ProtectionProgress("prepare", before + done, _checkpoints.Length * clean.Count,
                        (before + done) / Math.Max(watch.Elapsed.TotalSeconds, 1e-9), watch.Elapsed))));
            }
            return centres.ToArray();
        }
        catch
        {
            foreach (var c in centres) c.Dispose();
            throw;
        }
    }

    private void CheckTargetsHaveCentres(IImageCollection clean, IReadOnlyList<long> counts)
    {
        int classes = counts.Count;
        for (int y = 0; y < classes; y++)
        {
            int t = (y + classes / 2) % classes;
            if (counts[y] > 0 && counts[t] == 0)
            {
                string name = t < _checkpoints[0].ClassNames.Count ? _checkpoints[0].ClassNames[t] : t.ToString(System.Globalization.CultureInfo.InvariantCulture);
                throw new InvalidOperationException(
                    $"{_name} needs a clean centre of target class {t} ('{name}') for the images of class {y}, but the collection has no image of class {t}.");
            }
        }
    }

    private static SelfEnsembleProtection Load(CheckpointSet set, int count, SepOptions? options, Device? device, string? name)
    {
        ArgumentNullException.ThrowIfNull(set);
        (options ?? new SepOptions()).Validate();
        if (set.Count == 0) throw new ArgumentException("The checkpoint set is empty.", nameof(set));
        if (count < 1 || count > set.Count)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"count must be in [1, {set.Count}] (the checkpoints in the set).");
        var epochs = CheckpointSelection.Select(set.Epochs, count);
        var loaded = new List<Classifier>(epochs.Count);
        try
        {
            foreach (int epoch in epochs) loaded.Add(set.Load(epoch, device));
            return new SelfEnsembleProtection(loaded, options, ownsCheckpoints: true, epochs, name);
        }
        catch
        {
            foreach (var c in loaded) c.Dispose();
            throw;
        }
    }

    private static ProtectorDefinition Define(string name, SepVariant variant, string description) => new(
        name, description, NeedsCheckpoints: true, s =>
        {
            var options = OptionsFrom(s, variant);
            options.Validate();
            int available = s.Checkpoints!.Count;
            int count = s.CheckpointCount ?? Math.Min(DefaultCheckpointCountOf(variant), available);
            if (count < 1 || count > available)
                throw new ArgumentOutOfRangeException(nameof(ProtectorSettings.CheckpointCount), count,
                    $"CheckpointCount must be in [1, {available}] (the checkpoints available).");
            return FromCheckpoints(s.Checkpoints, count, options, s.Device);
        })
    {
        Reads = [nameof(ProtectorSettings.Epsilon), nameof(ProtectorSettings.Iterations), nameof(ProtectorSettings.StepSize),
            nameof(ProtectorSettings.CheckpointCount), nameof(ProtectorSettings.Checkpoints), nameof(ProtectorSettings.Device),
            nameof(ProtectorSettings.Seed), nameof(ProtectorSettings.ExpectationOverTransforms), .. variant == SepVariant.FeatureAlignmentVarianceReduction ? [nameof(ProtectorSettings.InnerSteps)] : Array.Empty<string>()],
    };

    private static SepOptions OptionsFrom(ProtectorSettings s, SepVariant variant)
    {
        var defaults = new SepOptions();
        return new SepOptions
        {
            Variant = variant,
            Epsilon = s.Epsilon,
            Seed = s.Seed,
            Iterations = s.Iterations ?? defaults.Iterations,
            StepSize = s.StepSize ?? defaults.StepSize,
            InnerSteps = s.InnerSteps ?? defaults.InnerSteps,
            ExpectationOverTransforms = s.ExpectationOverTransforms,
        };
    }
}
