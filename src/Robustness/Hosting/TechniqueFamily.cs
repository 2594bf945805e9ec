namespace Robustness.Hosting;

/// <summary>
/// A family of interchangeable techniques that share one interface: attacks, data protectors, pruners.
/// The CLI and the benchmarks look techniques up by family and name, so a new technique needs no edit elsewhere.
/// </summary>
/// <param name="Name">Short lower-case name, e.g. <c>attack</c>.</param>
/// <param name="Description">What the family's techniques do.</param>
public sealed record TechniqueFamily(string Name, string Description)
{
    /// <summary>Evasion attacks: given a classifier, images and labels, return adversarial images.</summary>
    public static TechniqueFamily Attacks { get; } = new("attack", "Evasion attacks that perturb images within a budget.");

    /// <summary>Data protectors: make a labelled image set useless for training (SEP and its baselines).</summary>
    public static TechniqueFamily Protectors { get; } = new("protector", "Data protection: perturb a training set so models trained on it fail.");

    /// <summary>Pruners: sparsify a classifier while keeping accuracy and robustness (PwoA and its baselines).</summary>
    public static TechniqueFamily Pruners { get; } = new("pruner", "Pruning: remove weights from a classifier.");

    /// <summary>The families every <c>AddRobustness()</c> registers.</summary>
    public static IReadOnlyList<TechniqueFamily> BuiltIn { get; } = [Attacks, Protectors, Pruners];
}
