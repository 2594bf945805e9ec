using Robustness.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Attacks;

/// <summary>
/// Base class of the attacks: checks the inputs, puts the model in the options' mode (eval by default; restores the mode it found),
/// resolves targets, seeds the randomness, calls <see cref="Perturb"/>, and guarantees the contract on the result
/// (clamped to [0,1], projected onto the budget when there is one, detached). Subclasses write only the method.
/// </summary>
public abstract class Attack<TOptions> : IAttack where TOptions : AttackOptions
{
    /// <summary>Validates <paramref name="options"/> and keeps them.</summary>
    protected Attack(string name, TOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Name = name;
        Options = options;
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>The attack's options.</summary>
    public TOptions Options { get; }

    AttackOptions IAttack.Options => Options;

    /// <inheritdoc />
    public virtual bool IsBlackBox => false;

    /// <inheritdoc />
    public virtual Norm Norm => Options is BoundedAttackOptions b ? b.Norm : Norm.L2;

    /// <inheritdoc />
    public virtual double? Epsilon => Options is BoundedAttackOptions b ? b.Epsilon : null;

    /// <inheritdoc />
    public Tensor Run(Classifier classifier, Tensor images, Tensor labels, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        AttackInputs.Check(classifier, images, labels);
        using var mode = classifier.Mode(Options.Mode);
        // Every forward and input gradient of the attack with channels-last convolutions where that layout was measured
        // faster and is probed (the CPU under the kernel guard); the attack's own tensors stay as they are.
        using var layout = ChannelsLast.Applies(classifier.Device) ? classifier.ChannelsLastInputs() : null;
        using var scope = torch.NewDisposeScope();
        var x = images.detach().to(classifier.Device);
        var y = labels.to(classifier.Device);
        if (Epsilon == 0.0) return x.clone().MoveToOuterDisposeScope(); // no budget, no change

        using var generator = new Generator((ulong)Options.Seed);
        var targets = Options.Target.Resolve(classifier, x, y, generator);
        var criterion = Options is GradientAttackOptions gradient ? gradient.Criterion : AttackCriterion.Misclassification;
        var adversarial = Perturb(new AttackContext(classifier, x, y, targets, generator, cancellationToken) { Criterion = criterion }).detach();
        if (!adversarial.shape.SequenceEqual(x.shape))
            throw new InvalidOperationException($"{Name} returned shape [{string.Join(", ", adversarial.shape)}] for input [{string.Join(", ", x.shape)}].");
        // contiguous: gradients of channels-last convolutions may have left NHWC strides; callers get plain NCHW.
        return (Epsilon is double eps ? AttackMath.ClampToBudget(x, adversarial, Norm, eps) : adversarial.clamp(Scalars.Zero, Scalars.One))
            .contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The attack itself. Runs inside a dispose scope; each step should open its own
    /// (<c>using var step = torch.NewDisposeScope();</c>) and move out what the next step needs.
    /// </summary>
    protected abstract Tensor Perturb(AttackContext context);

    /// <inheritdoc />
    public override string ToString() => Epsilon is double e ? $"{Name} ({Norm.Name()}, eps {Budget.Format(e)})" : $"{Name} ({Norm.Name()})";
}

/// <summary>Checks attack inputs once, with messages that say what is expected.</summary>
internal static class AttackInputs
{
    public static void Check(Classifier classifier, Tensor images, Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        if (images.dtype != ScalarType.Float32 || images.dim() != 4 || images.shape[1] != classifier.Spec.InputChannels)
            throw new ArgumentException($"images must be float32 [N, {classifier.Spec.InputChannels}, H, W] in [0,1]; got {images.dtype} [{string.Join(", ", images.shape)}].", nameof(images));
        if (labels.dtype != ScalarType.Int64 || labels.dim() != 1 || labels.shape[0] != images.shape[0])
            throw new ArgumentException($"labels must be int64 [{images.shape[0]}]; got {labels.dtype} [{string.Join(", ", labels.shape)}].", nameof(labels));
        if (images.shape[0] == 0) return;
        using var scope = torch.NewDisposeScope();
        float min = images.min().item<float>(), max = images.max().item<float>();
        if (min < 0f || max > 1f || float.IsNaN(min) || float.IsNaN(max))
            throw new ArgumentOutOfRangeException(nameof(images), $"images must lie in [0,1]; found values in [{min}, {max}]. Normalisation belongs inside the Classifier.");
        long lmin = labels.min().item<long>(), lmax = labels.max().item<long>();
        if (lmin < 0 || lmax >= classifier.Classes)
            throw new ArgumentOutOfRangeException(nameof(labels), $"labels must lie in [0, {classifier.Classes - 1}]; found [{lmin}, {lmax}].");
    }
}
