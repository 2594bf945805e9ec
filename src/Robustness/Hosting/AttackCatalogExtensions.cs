using Microsoft.Extensions.Logging;
using Robustness.Attacks;
using Robustness.Attacks.Evaluation;

namespace Robustness.Hosting;

/// <summary>Evaluations built from the attacks in the catalogue.</summary>
public static class AttackCatalogExtensions
{
    /// <summary>
    /// The standard AutoAttack-style evaluation (APGD-CE, APGD-T, FAB-T, Square) with each attack built from the
    /// catalogue, so an application that replaces an attack's registration evaluates with its own.
    /// </summary>
    public static AutoAttackEvaluator StandardAutoAttack(this ITechniqueCatalog catalog, Norm norm, double epsilon, int seed = 0,
        AutoAttackOptions? options = null, ILogger<AutoAttackEvaluator>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return AutoAttackEvaluator.Standard((name, settings) => catalog.Create(TechniqueFamily.Attacks, name).Build(settings),
            norm, epsilon, seed, options, logger);
    }
}
