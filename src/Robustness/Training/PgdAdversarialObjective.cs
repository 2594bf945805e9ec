using Robustness.Validation;
using System.Globalization;
using Robustness.Attacks;
using Robustness.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Training;

/// <summary>
/// Options of PGD adversarial training with the objective's own inner PGD. Defaults are Madry et al. (2018)'s
/// CIFAR-10 recipe: l-inf, eps 8/255, 7 steps of 2/255 from a uniform random start, crafted in training mode.
/// (Rice et al., 2020, use 10 steps; set <see cref="Steps"/> = 10.)
/// </summary>
public sealed record PgdTrainingOptions
{
    /// <summary>The budget on the [0,1] scale (>= 0), 8/255 by default.</summary>
    public double Epsilon { get; init; } = 8.0 / 255.0;

    /// <summary>The step size on the [0,1] scale (> 0), 2/255 by default.</summary>
    public double StepSize { get; init; } = 2.0 / 255.0;

    /// <summary>PGD steps per batch (>= 1), 7 by default (Madry et al.).</summary>
    public int Steps { get; init; } = 7;

    /// <summary>The norm of the budget; l-inf by default.</summary>
    public Norm Norm { get; init; } = Norm.Linf;

    /// <summary>Start from a random point of the budget ball (Madry et al.) rather than the clean image.</summary>
    public bool RandomStart { get; init; } = true;

    /// <summary>The model's mode while crafting; training mode by default, as in Madry et al.'s code.</summary>
    public ModelMode Crafting { get; init; } = ModelMode.Train;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first option out of range; returns this.</summary>
    public PgdTrainingOptions Validate()
    {
        Budget.Check(Epsilon, nameof(Epsilon));
        Require.Positive(StepSize, nameof(StepSize));
        Require.AtLeast(Steps, 1, nameof(Steps));
        if (!Enum.IsDefined(Norm)) throw new ArgumentOutOfRangeException(nameof(Norm), Norm, "Norm must be Linf, L2 or L1.");
        if (!Enum.IsDefined(Crafting)) throw new ArgumentOutOfRangeException(nameof(Crafting), Crafting, "Crafting must be Train, Eval or Unchanged.");
        return this;
    }
}

/// <summary>
/// PGD adversarial training (Madry et al., 2018, "Towards deep learning models resistant to adversarial attacks"):
/// each batch is replaced by PGD adversarial examples of itself and the model minimises the cross-entropy on them.
/// The examples come either from the objective's own PGD (<see cref="PgdTrainingOptions"/>, crafted in training
/// mode by default, as in Madry et al.'s and Rice et al.'s code: batch norm sees the batch it will train on) or
/// from any <see cref="IAttack"/> (the catalogue's PGD, say), which by the attack contract crafts in eval mode.
/// </summary>
public sealed class PgdAdversarialObjective : ITrainingObjective
{
    private readonly Func<TrainingStep, IAttack>? _attackFor;
    private readonly string _description;

    /// <summary>PGD-AT with the objective's own PGD (Madry et al.'s defaults when <paramref name="options"/> is null).</summary>
    public PgdAdversarialObjective(PgdTrainingOptions? options = null)
    {
        Options = (options ?? new PgdTrainingOptions()).Validate();
        var c = CultureInfo.InvariantCulture;
        _description = string.Create(c, $"PGD-AT ({Options.Norm.Name()}, eps {Budget.Format(Options.Epsilon)}, {Options.Steps} steps of {Budget.Format(Options.StepSize)}, {(Options.RandomStart ? "random start" : "no random start")}, crafted in {Options.Crafting.ToString().ToLowerInvariant()} mode)");
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
    public PgdTrainingOptions? Options { get; }

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
        return InnerMaximisation.Ascend(classifier, clean, start, logits => AttackMath.CrossEntropy(logits, labels),
            o.Norm, o.Epsilon, o.StepSize, o.Steps, o.Crafting);
    }

    /// <inheritdoc />
    public override string ToString() => _description;
}
