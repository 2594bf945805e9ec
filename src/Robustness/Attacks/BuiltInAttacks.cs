namespace Robustness.Attacks;

/// <summary>Every attack that ships with Robustness, as catalogue definitions (registered by <c>AddAttacks()</c>).</summary>
public static class BuiltInAttacks
{
    /// <summary>The definitions, gradient attacks first, then minimum-norm, the AutoAttack family and black-box.</summary>
    public static IReadOnlyList<AttackDefinition> All { get; } =
    [
        Fgsm.Definition, RFgsm.Definition, Bim.Definition, Pgd.Definition, MiFgsm.Definition, DiFgsm.Definition,
        CwL2.Definition, DeepFool.Definition, FabT.Definition,
        ApgdCe.Definition, ApgdDlr.Definition, ApgdT.Definition, Square.Definition, ZoSignSgd.Definition, Nes.Definition,
    ];

    /// <summary>The definition named <paramref name="name"/>, or an exception listing the names.</summary>
    public static AttackDefinition Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return All.FirstOrDefault(d => string.Equals(d.Name, name.Trim(), StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentOutOfRangeException(nameof(name), name, $"Unknown attack '{name}'. Known: {string.Join(", ", All.Select(d => d.Name))}.");
    }
}
