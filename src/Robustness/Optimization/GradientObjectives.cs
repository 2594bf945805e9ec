using Robustness.Attacks;
using static TorchSharp.torch;

namespace Robustness.Optimization;

/// <summary>
/// What the engine follows: the gradient, with respect to the input, of a quantity of the input. The objective owns
/// the models it evaluates and the mode they run in (<see cref="Begin"/>); the engine owns the iterate.
/// </summary>
public interface IGradientObjective
{
    /// <summary>Puts the objective's models in the mode it needs for a run; disposing restores them.</summary>
    IDisposable Begin();

    /// <summary>The input gradient at <paramref name="x"/>, detached, in the caller's dispose scope.</summary>
    Tensor Gradient(Tensor x);
}

/// <summary>
/// The sum of a per-image loss of one classifier's logits, in the given <see cref="ModelMode"/>: the objective of the
/// attacks, of adversarial training's inner maximisation (cross-entropy; TRADES' KL divergence) and of
/// error-minimising noise. Only the input receives a gradient; the model's parameters get no .grad.
/// </summary>
public sealed class ClassifierLoss : IGradientObjective
{
    private readonly Func<Tensor, Tensor> _perSampleLoss;

    /// <summary>The loss <paramref name="perSampleLoss"/> (logits [N, C] to [N]) of <paramref name="classifier"/> in <paramref name="mode"/>.</summary>
    public ClassifierLoss(Classifier classifier, Func<Tensor, Tensor> perSampleLoss, ModelMode mode = ModelMode.Unchanged)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(perSampleLoss);
        Classifier = classifier;
        _perSampleLoss = perSampleLoss;
        Mode = mode;
    }

    /// <summary>The model whose loss is followed.</summary>
    public Classifier Classifier { get; }

    /// <summary>The mode the model runs in while the engine works.</summary>
    public ModelMode Mode { get; }

    /// <inheritdoc />
    public IDisposable Begin() => Classifier.Mode(Mode);

    /// <inheritdoc />
    public Tensor Gradient(Tensor x) => AttackMath.InputGradient(Classifier, x, _perSampleLoss);
}
