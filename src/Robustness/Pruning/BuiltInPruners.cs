namespace Robustness.Pruning;

/// <summary>Every pruner that ships with Robustness, as catalogue definitions (registered by <c>AddPruners()</c>).</summary>
public static class BuiltInPruners
{
    /// <summary>PwoA: self-distillation + HSIC bottleneck with ADMM pruning, clean data only.</summary>
    public static PrunerDefinition Pwoa { get; } = new("pwoa",
        "PwoA (ICDM 2022): ADMM pruning with self-distillation from the robust teacher and the HSIC bottleneck; clean data only.",
        s => new Pwoa(s.ToPwoaOptions(), name: "pwoa"));

    /// <summary>The ablation without HSIC (lambda_x = lambda_y = 0).</summary>
    public static PrunerDefinition PwoaDistillationOnly { get; } = new("pwoa-distill-only",
        "PwoA ablation: self-distillation only (no HSIC term).",
        s => new Pwoa(s.ToPwoaOptions() with { LambdaX = 0, LambdaY = 0 }, name: "pwoa-distill-only"));

    /// <summary>The ablation without distillation (alpha = 0; ADMM then has only its penalty).</summary>
    public static PrunerDefinition PwoaHsicOnly { get; } = new("pwoa-hsic-only",
        "PwoA ablation: HSIC bottleneck only (no self-distillation; the ADMM phase then trains on its penalty alone, as HSIC is active in retraining).",
        s => new Pwoa(s.ToPwoaOptions() with { DistillationAlpha = 0 }, name: "pwoa-hsic-only"));

    /// <summary>Naive pruning: magnitude prune + clean cross-entropy fine-tuning.</summary>
    public static PrunerDefinition Magnitude { get; } = new("magnitude",
        "Naive pruning: one-shot magnitude prune, then masked clean fine-tuning (cross-entropy).",
        s => MagnitudePruner.Naive(s.ToMagnitudeOptions()));

    /// <summary>Adversarial pruning: magnitude prune + PGD-10 adversarial fine-tuning.</summary>
    public static PrunerDefinition Adversarial { get; } = new("adversarial",
        "Adversarial pruning: one-shot magnitude prune, then masked PGD-10 adversarial fine-tuning (eps 8/255, step 2/255); about 11x PwoA's cost per step.",
        s => MagnitudePruner.Adversarial(s.ToMagnitudeOptions()));

    /// <summary>The definitions: PwoA, its ablations, then the baselines.</summary>
    public static IReadOnlyList<PrunerDefinition> All { get; } = [Pwoa, PwoaDistillationOnly, PwoaHsicOnly, Magnitude, Adversarial];

    /// <summary>The definition named <paramref name="name"/> (case-insensitive), or an exception listing the names.</summary>
    public static PrunerDefinition Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return All.FirstOrDefault(d => string.Equals(d.Name, name.Trim(), StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentOutOfRangeException(nameof(name), name, $"Unknown pruning method '{name}'. Known: {string.Join(", ", All.Select(d => d.Name))}.");
    }
}
