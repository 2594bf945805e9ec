using Robustness.Attacks;
using Robustness.Protection;
using Robustness.Pruning;

namespace Robustness.Hosting;

/// <summary>
/// A family of interchangeable techniques that share one interface: attacks, data protectors, pruners.
/// The CLI and the benchmarks look techniques up by family and name, so a new technique needs no edit elsewhere.
/// Families are typed (<see cref="TechniqueFamily{TDefinition}"/>): registering a technique checks that it produces
/// the family's definition type, so building one through the catalogue cannot fail with a cast.
/// </summary>
/// <param name="Name">Short lower-case name, e.g. <c>attack</c>.</param>
/// <param name="Description">What the family's techniques do.</param>
public record TechniqueFamily(string Name, string Description)
{
    /// <summary>The type every technique of this family produces, or null for an untyped family.</summary>
    public virtual Type? DefinitionType => null;

    /// <summary>Evasion attacks: given a classifier, images and labels, return adversarial images.</summary>
    public static TechniqueFamily<AttackDefinition> Attacks { get; } = new("attack", "Evasion attacks that perturb images within a budget.");

    /// <summary>Data protectors: make a labelled image set useless for training (SEP and its baselines).</summary>
    public static TechniqueFamily<ProtectorDefinition> Protectors { get; } = new("protector", "Data protection: perturb a training set so models trained on it fail.");

    /// <summary>Pruners: sparsify a classifier while keeping accuracy and robustness (PwoA and its baselines).</summary>
    public static TechniqueFamily<PrunerDefinition> Pruners { get; } = new("pruner", "Pruning: remove weights from a classifier.");

    /// <summary>The families every <c>AddRobustness()</c> registers.</summary>
    public static IReadOnlyList<TechniqueFamily> BuiltIn { get; } = [Attacks, Protectors, Pruners];
}

/// <summary>A family whose techniques all produce a <typeparamref name="TDefinition"/> (e.g. <see cref="AttackDefinition"/>).</summary>
/// <typeparam name="TDefinition">What the catalogue returns for a technique of this family.</typeparam>
/// <param name="Name">Short lower-case name.</param>
/// <param name="Description">What the family's techniques do.</param>
public sealed record TechniqueFamily<TDefinition>(string Name, string Description) : TechniqueFamily(Name, Description) where TDefinition : class
{
    /// <inheritdoc />
    public override Type? DefinitionType => typeof(TDefinition);
}
