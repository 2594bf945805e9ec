namespace Robustness.Protection;

/// <summary>Every protector that ships with Robustness, as catalogue definitions (registered by <c>AddProtectors()</c>).</summary>
public static class BuiltInProtectors
{
    /// <summary>The definitions: SEP and its variants first, then the baselines.</summary>
    public static IReadOnlyList<ProtectorDefinition> All { get; } =
    [
        SelfEnsembleProtection.SepDefinition,
        SelfEnsembleProtection.SepFaDefinition,
        SelfEnsembleProtection.SepFaVrDefinition,
        SelfEnsembleProtection.FinalCheckpointDefinition,
        RandomNoiseProtector.Definition,
    ];

    /// <summary>The definition named <paramref name="name"/>, or an exception listing the names.</summary>
    public static ProtectorDefinition Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return All.FirstOrDefault(d => string.Equals(d.Name, name.Trim(), StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentOutOfRangeException(nameof(name), name, $"Unknown protection method '{name}'. Known: {string.Join(", ", All.Select(d => d.Name))}.");
    }
}
