using Robustness.Attacks;

namespace Robustness.Hosting;

/// <summary>Registers the attack suite in the technique catalogue.</summary>
public static class AttackServiceExtensions
{
    /// <summary>
    /// Adds every built-in attack to the <see cref="TechniqueFamily.Attacks"/> family as an <see cref="AttackDefinition"/>
    /// (build one with <c>catalog.Create&lt;AttackDefinition&gt;(TechniqueFamily.Attacks, "pgd").Build(settings)</c>).
    /// </summary>
    public static RobustnessBuilder AddAttacks(this RobustnessBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        foreach (var definition in BuiltInAttacks.All)
            builder.AddTechnique(TechniqueFamily.Attacks, definition.Name, definition.Description, _ => definition);
        return builder;
    }
}
