using Robustness.Pruning;

namespace Robustness.Hosting;

/// <summary>Registers the pruners in the technique catalogue.</summary>
public static class PrunerServiceExtensions
{
    /// <summary>
    /// Adds every built-in pruner to the <see cref="TechniqueFamily.Pruners"/> family as a <see cref="PrunerDefinition"/>
    /// (build one with <c>catalog.Create&lt;PrunerDefinition&gt;(TechniqueFamily.Pruners, "pwoa").Build(settings)</c>).
    /// </summary>
    public static RobustnessBuilder AddPruners(this RobustnessBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        foreach (var definition in BuiltInPruners.All)
            builder.AddTechnique(TechniqueFamily.Pruners, definition.Name, definition.Description, _ => definition);
        return builder;
    }
}
