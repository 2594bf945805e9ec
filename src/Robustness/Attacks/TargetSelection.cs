using Robustness.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Attacks;

/// <summary>
/// Which label a targeted attack pushes each image towards. <see cref="None"/> means untargeted (move away from
/// the true label). Targets never equal the true label.
/// </summary>
public abstract record TargetSelection
{
    private TargetSelection() { }

    /// <summary>Untargeted: any wrong label will do.</summary>
    public static TargetSelection None { get; } = new NoTarget();

    /// <summary>A label drawn uniformly among the wrong ones, from the attack's seed.</summary>
    public static TargetSelection Random { get; } = new RandomTarget();

    /// <summary>The label the model finds least likely on the clean image.</summary>
    public static TargetSelection LeastLikely { get; } = new LeastLikelyTarget();

    /// <summary>The same label for every image (images already of that label get the next label instead).</summary>
    public static TargetSelection Label(int label) => label >= 0
        ? new FixedTarget(label)
        : throw new ArgumentOutOfRangeException(nameof(label), label, "label must be >= 0.");

    /// <summary>Targets chosen by <paramref name="choose"/>(clean logits, true labels) -> int64 [N].</summary>
    public static TargetSelection ByFunction(Func<Tensor, Tensor, Tensor> choose) =>
        new FunctionTarget(choose ?? throw new ArgumentNullException(nameof(choose)));

    /// <summary>True unless this is <see cref="None"/>.</summary>
    public bool IsTargeted => this is not NoTarget;

    /// <summary>Parses <c>none</c>, <c>random</c>, <c>least-likely</c> or a label number (the CLI's <c>--targeted</c>).</summary>
    public static TargetSelection Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string s = text.Trim().ToLowerInvariant();
        return s switch
        {
            "none" or "" => None,
            "random" => Random,
            "least-likely" or "ll" => LeastLikely,
            _ when int.TryParse(s, out int label) && label >= 0 => Label(label),
            _ => throw new ArgumentOutOfRangeException(nameof(text), text, "Target must be none, random, least-likely or a label number >= 0."),
        };
    }

    /// <summary>
    /// The target labels for <paramref name="images"/> (int64 [N] on the classifier's device), or null when
    /// untargeted. Runs the classifier once (no gradients) when the rule needs its logits.
    /// </summary>
    public Tensor? Resolve(Classifier classifier, Tensor images, Tensor labels, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        if (this is NoTarget) return null;
        int classes = classifier.Classes;
        using var classCount = classes.ToScalar();
        using var scope = torch.NewDisposeScope();
        Tensor targets;
        switch (this)
        {
            case RandomTarget:
                // Offset 1..C-1 added to the true label modulo C: uniform over the wrong labels.
                var offset = torch.randint(1, classes, [labels.shape[0]], generator: generator, dtype: ScalarType.Int64).to(labels.device);
                targets = (labels + offset).remainder(classCount);
                break;
            case LeastLikelyTarget:
                using (torch.no_grad()) targets = classifier.Forward(images).argmin(1);
                break;
            case FixedTarget f:
                if (f.Value >= classes)
                    throw new ArgumentOutOfRangeException(nameof(Label), f.Value, $"Target label must be in [0, {classes - 1}].");
                using (var label = f.Value.ToScalar())
                {
                    var fixedLabel = torch.full_like(labels, label);
                    targets = torch.where(labels.eq(label), (fixedLabel + Scalars.One).remainder(classCount), fixedLabel);
                }
                break;
            case FunctionTarget fn:
                Tensor logits;
                using (torch.no_grad()) logits = classifier.Forward(images);
                targets = fn.Choose(logits, labels).to(ScalarType.Int64).to(labels.device);
                if (targets.shape.Length != 1 || targets.shape[0] != labels.shape[0])
                    throw new InvalidOperationException("The target function must return one label per image.");
                break;
            default:
                throw new InvalidOperationException($"Unknown target selection {GetType().Name}.");
        }
        return targets.MoveToOuterDisposeScope();
    }

    private sealed record NoTarget : TargetSelection { public override string ToString() => "none"; }
    private sealed record RandomTarget : TargetSelection { public override string ToString() => "random"; }
    private sealed record LeastLikelyTarget : TargetSelection { public override string ToString() => "least-likely"; }
    private sealed record FixedTarget(int Value) : TargetSelection { public override string ToString() => $"label {Value}"; }
    private sealed record FunctionTarget(Func<Tensor, Tensor, Tensor> Choose) : TargetSelection { public override string ToString() => "function"; }
}
