namespace Robustness.Protection;

/// <summary>
/// The three crafting objectives of Self-Ensemble Protection (Chen et al., "Self-Ensemble Protection: Training
/// Checkpoints Are Good Data Protectors", ICLR 2023).
/// </summary>
public enum SepVariant
{
    /// <summary>SEP: targeted cross-entropy to t = (y + C/2) mod C, averaged over the checkpoints' input gradients (catalogue name <c>sep</c>).</summary>
    Sep,

    /// <summary>SEP-FA: pull each checkpoint's penultimate feature towards that checkpoint's clean centre of class t (MSE; <c>sep-fa</c>).</summary>
    FeatureAlignment,

    /// <summary>SEP-FA-VR: SEP-FA with the SVRE variance-reduced inner loop over randomly drawn checkpoints (<c>sep-fa-vr</c>).</summary>
    FeatureAlignmentVarianceReduction,
}
