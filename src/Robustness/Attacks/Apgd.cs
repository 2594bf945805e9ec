using Robustness.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Attacks;

/// <summary>
/// Auto-PGD (Croce and Hein, 2020): PGD with momentum and a step size that adapts itself at checkpoints, so it needs
/// no step-size tuning. This base class is the one shared implementation; each variant only names its loss
/// (<see cref="ApgdCe"/>, <see cref="ApgdDlr"/>, <see cref="ApgdT"/>). Images the model already gets wrong (or, for
/// a targeted attack, already assigns to their target) are returned unchanged; every other image is searched in
/// <see cref="ApgdOptions.Restarts"/> runs, each on the images not yet fooled. The result per image is the first
/// adversarial point found or, failing that, the point of highest loss over all runs.
/// </summary>
public abstract class Apgd<TOptions> : Attack<TOptions> where TOptions : ApgdOptions
{
    /// <summary>Validates and keeps <paramref name="options"/>.</summary>
    protected Apgd(string name, TOptions options) : base(name, options) { }

    /// <summary>The loss the search maximises, per image [N], from logits [N, C], true labels and targets (null when untargeted).</summary>
    protected abstract Tensor Loss(Tensor logits, Tensor labels, Tensor? targets);

    /// <summary>
    /// Which images are adversarial, bool [N]: misclassified when untargeted, classified as their target when
    /// targeted. <paramref name="targets"/> are those the loss uses.
    /// </summary>
    protected virtual Tensor Reached(Tensor logits, Tensor labels, Tensor? targets) =>
        targets is null ? logits.argmax(1).ne(labels) : logits.argmax(1).eq(targets);

    /// <summary>Raises when the classifier cannot be attacked with this loss (too few classes for DLR).</summary>
    protected virtual void CheckClassifier(Classifier classifier, bool targeted) { }

    /// <summary>
    /// The loss targets of the successive passes (each pass runs all the restarts on the images not yet fooled):
    /// by default a single pass with the attack's own targets (null when untargeted).
    /// </summary>
    protected virtual IEnumerable<Tensor?> Passes(Tensor cleanLogits, AttackContext context)
    {
        yield return context.Targets;
    }

    /// <inheritdoc />
    protected override Tensor Perturb(AttackContext context)
    {
        CheckClassifier(context.Classifier, context.Targeted);
        Tensor clean;
        using (torch.no_grad()) clean = context.Classifier.Forward(context.Images);
        var result = new ApgdResult(context.Images, Reached(clean, context.Labels, context.Targets));
        var search = new ApgdSearch(context.Classifier, Options, new ApgdObjective(Loss, Reached), context.Generator, context.CancellationToken);
        foreach (var targets in Passes(clean, context))
        {
            for (int restart = 0; restart < Options.Restarts; restart++)
            {
                using var run = torch.NewDisposeScope();
                var pending = result.Pending();
                if (pending is null) return result.Images;
                var outcome = search.Run(
                    context.Images.index_select(0, pending),
                    context.Labels.index_select(0, pending),
                    targets?.index_select(0, pending));
                result.Absorb(pending, outcome);
            }
        }
        return result.Images;
    }

    /// <summary>Throws the error of a loss that needs more classes than the classifier has.</summary>
    protected void RequireClasses(Classifier classifier, int minimum, string loss)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        if (classifier.Classes < minimum)
            throw new ArgumentException($"{Name}: the {loss} loss needs at least {minimum} classes; the classifier has {classifier.Classes}. Use apgd-ce instead.", nameof(classifier));
    }
}

/// <summary>
/// The per-image result across Auto-PGD runs: the first adversarial point found, else the highest-loss point so far
/// (the clean image until a run reports one). Updated in place, so runs need not move anything out.
/// </summary>
internal sealed class ApgdResult
{
    private readonly Tensor _fooled;
    private readonly Tensor _bestLoss;

    public ApgdResult(Tensor images, Tensor alreadyFooled)
    {
        Images = images.clone();
        _fooled = alreadyFooled.clone();
        _bestLoss = torch.full(images.shape[0], Scalars.NegativeInfinity, ScalarType.Float32, images.device);
    }

    /// <summary>The result images.</summary>
    public Tensor Images { get; }

    /// <summary>Indices of the images not yet fooled, or null when there are none.</summary>
    public Tensor? Pending()
    {
        var pending = _fooled.logical_not().nonzero().squeeze(1);
        return pending.shape[0] == 0 ? null : pending;
    }

    /// <summary>Takes a run's outcome over the images <paramref name="index"/>.</summary>
    public void Absorb(Tensor index, ApgdOutcome outcome)
    {
        var fooledImage = AttackMath.Broadcast(outcome.Fooled, outcome.Adversarial);
        var better = outcome.Fooled.logical_not().logical_and(outcome.BestLoss.gt(_bestLoss.index_select(0, index)));
        var current = Images.index_select(0, index);
        var updated = torch.where(fooledImage, outcome.Adversarial, torch.where(AttackMath.Broadcast(better, current), outcome.BestPoint, current));
        Images.index_copy_(0, index, updated);
        _bestLoss.index_copy_(0, index, torch.where(better, outcome.BestLoss, _bestLoss.index_select(0, index)));
        _fooled.index_copy_(0, index, _fooled.index_select(0, index).logical_or(outcome.Fooled));
    }
}
