using Robustness.Protection;

namespace Robustness.Hosting;

/// <summary>Registers the data protectors in the technique catalogue.</summary>
public static class ProtectorServiceExtensions
{
    /// <summary>
    /// Adds every built-in protector to the <see cref="TechniqueFamily.Protectors"/> family as a <see cref="ProtectorDefinition"/>
    /// (build one with <c>catalog.Create&lt;ProtectorDefinition&gt;(TechniqueFamily.Protectors, "sep").Build(settings)</c>).
    /// </summary>
    public static RobustnessBuilder AddProtectors(this RobustnessBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        foreach (var definition in BuiltInProtectors.All)
            builder.AddTechnique(TechniqueFamily.Protectors, definition.Name, definition.Description, _ => definition);
        return builder;
    }
}
