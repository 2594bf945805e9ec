namespace Robustness.Protection;

/// <summary>
/// Options of <see cref="SelfEnsembleProtection"/>, with the defaults of the SEP paper and its public code: T = 30
/// iterations of step 1/255, M = 15 inner steps for SEP-FA-VR, l-inf budget 8/255 (the paper also uses 2/255 and 4/255).
/// </summary>
public sealed record SepOptions : ProtectionOptions
{
    /// <summary>Which objective to craft with (SEP by default).</summary>
    public SepVariant Variant { get; init; } = SepVariant.Sep;

    /// <summary>Outer iterations T (30).</summary>
    public int Iterations { get; init; } = 30;

    /// <summary>Signed-gradient step on the [0,1] scale (1/255).</summary>
    public double StepSize { get; init; } = 1.0 / 255.0;

    /// <summary>Inner steps M of the variance-reduced loop (15); used by <see cref="SepVariant.FeatureAlignmentVarianceReduction"/> only.</summary>
    public int InnerSteps { get; init; } = 15;

    /// <summary>
    /// Expectation over transforms: every crafting step sees a random resized crop and flip of each image (see
    /// <see cref="CraftingViews"/>) instead of the whole image, so the perturbation survives a trainer's augmentation.
    /// Off by default (the paper crafts on the images as they are).
    /// </summary>
    public bool ExpectationOverTransforms { get; init; }

    /// <inheritdoc />
    public override SepOptions Validate()
    {
        base.Validate();
        if (!Enum.IsDefined(Variant))
            throw new ArgumentOutOfRangeException(nameof(Variant), Variant, $"Variant must be one of {string.Join(", ", Enum.GetNames<SepVariant>())}.");
        AtLeast(Iterations, 1, nameof(Iterations));
        if (!(StepSize > 0)) throw new ArgumentOutOfRangeException(nameof(StepSize), StepSize, "StepSize must be a finite number in (0, 1].");
        InRange(StepSize, 0, 1, nameof(StepSize));
        AtLeast(InnerSteps, 1, nameof(InnerSteps));
        return this;
    }
}
