using Robustness.Validation;
using System.Globalization;
using Robustness.Attacks;
using Robustness.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Training;

/// <summary>
/// PGD adversarial training (Madry et al., 2018, "Towards deep learning models resistant to adversarial attacks"):
/// each batch is replaced by PGD adversarial examples of itself and the model minimises the cross-entropy on them.
/// The examples come either from the objective's own PGD, set by the attack's own <see cref="PgdOptions"/> (one
/// set of PGD knobs for attacking and for training; <see cref="MadryDefaults"/> crafts in training mode, as Madry et
/// al.'s and Rice et al.'s code does: batch norm sees the batch it will train on) on the projected-gradient engine,
/// or from any <see cref="IAttack"/> (the catalogue's PGD, say), which crafts in its options' mode.
/// </summary>
public sealed class PgdAdversarialObjective : ITrainingObjective
{
    private readonly Func<TrainingStep, IAttack>? _attackFor;
    private readonly string _description;

    /// <summary>
    /// Madry et al. (2018)'s CIFAR-10 recipe: l-inf, eps 8/255, 7 steps of 2/255 from a uniform random start, crafted
    /// in training mode. (Rice et al., 2020, use 10 steps: <c>MadryDefaults with { Steps = 10 }</c>.)
    /// </summary>
    public static PgdOptions MadryDefaults { get; } = new() { Steps = 7, StepSize = 2.0 / 255.0, Mode = ModelMode.Train };

    /// <summary>
    /// PGD-AT with the objective's own PGD (<see cref="MadryDefaults"/> when <paramref name="options"/> is null). The
    /// options' <see cref="AttackOptions.Mode"/> is the crafting mode and their <see cref="GradientAttackOptions.Criterion"/>
    /// the loss ascended. Training maximises the loss in one untargeted run: a target rule, restarts, early stop or a
    /// seed (the random starts come from the training run's seed) are refused rather than ignored.
    /// </summary>
    public PgdAdversarialObjective(PgdOptions? options = null)
    {
        var o = options ?? MadryDefaults;
        o.Validate();
        if (o.Target.IsTargeted) throw new ArgumentOutOfRangeException(nameof(options), o.Target, "PGD-AT crafts untargeted examples; leave Target at None.");
        if (o.Restarts != 1) throw new ArgumentOutOfRangeException(nameof(options), o.Restarts, "PGD-AT runs PGD once per batch; leave Restarts at 1.");
        if (o.StopOnSuccess) throw new ArgumentOutOfRangeException(nameof(options), o.StopOnSuccess, "PGD-AT maximises the loss with every step; leave StopOnSuccess off.");
        if (o.Seed != 0) throw new ArgumentOutOfRangeException(nameof(options), o.Seed, "PGD-AT draws its random starts from the training run's seed; leave Seed at 0.");
        Options = o;
        var c = CultureInfo.InvariantCulture;
        _description = string.Create(c, $"PGD-AT ({o.Norm.Name()}, eps {Budget.Format(o.Epsilon)}, {o.Steps} steps of {Budget.Format(o.StepSizeOrDefault)}, {(o.RandomStart ? "random start" : "no random start")}, crafted in {o.Mode.ToString().ToLowerInvariant()} mode{(o.Criterion == AttackCriterion.Misclassification ? "" : $", {o.Criterion}")})");
    }

    /// <summary>
    /// PGD-AT with <paramref name="attack"/> crafting every batch (in eval mode, as every <see cref="IAttack"/> does).
    /// The attack's seed is fixed, so its random start repeats from batch to batch; <see cref="FromDefinition"/>
    /// draws a fresh seed per batch.
    /// </summary>
    public PgdAdversarialObjective(IAttack attack)
    {
        ArgumentNullException.ThrowIfNull(attack);
        _attackFor = _ => attack;
        _description = $"PGD-AT with {attack}";
    }

    private PgdAdversarialObjective(Func<TrainingStep, IAttack> attackFor, string description)
    {
        _attackFor = attackFor;
        _description = description;
    }

    /// <summary>
    /// PGD-AT with the attack <paramref name="definition"/> builds from <paramref name="settings"/>, rebuilt for each
    /// batch with a seed drawn from the training run's random source (fresh random starts, reproducible runs).
    /// </summary>
    public static PgdAdversarialObjective FromDefinition(AttackDefinition definition, AttackSettings settings)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(settings);
        var described = definition.Build(settings); // checks the settings now rather than at the first batch
        return new PgdAdversarialObjective(step => definition.Build(settings with { Seed = step.Random.Next() }), $"PGD-AT with {described}");
    }

    /// <summary>The options of the objective's own PGD, or null when an attack crafts the examples.</summary>
    public PgdOptions? Options { get; }

    /// <summary>Cross-entropy on the adversarial examples; their logits count toward training accuracy.</summary>
    public ObjectiveOutput Compute(Classifier classifier, Tensor images, Tensor labels, TrainingStep step)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        var adversarial = _attackFor is null ? Craft(classifier, images, labels, step) : _attackFor(step).Run(classifier, images, labels);
        var logits = classifier.Forward(adversarial);
        return new ObjectiveOutput(nn.functional.cross_entropy(logits, labels), logits);
    }

    private Tensor Craft(Classifier classifier, Tensor images, Tensor labels, TrainingStep step)
    {
        var o = Options!;
        var clean = images.detach();
        var start = clean;
        if (o.RandomStart)
        {
            using var generator = InnerMaximisation.GeneratorFor(step);
            start = (clean + AttackMath.RandomInBall(clean.shape, o.Norm, o.Epsilon, generator, clean.device)).clamp(Scalars.Zero, Scalars.One);
        }
        return InnerMaximisation.Ascend(classifier, clean, start, o.Criterion.LossOf(labels, null),
            o.Norm, o.Epsilon, o.StepSizeOrDefault, o.Steps, o.Mode);
    }

    /// <inheritdoc />
    public override string ToString() => _description;
}
