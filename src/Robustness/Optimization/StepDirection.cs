namespace Robustness.Optimization;

/// <summary>Which way the engine moves the input along the objective's gradient.</summary>
public enum StepDirection
{
    /// <summary>Raise the objective (attacks, adversarial training's inner maximisation).</summary>
    Ascend,

    /// <summary>Lower the objective (SEP's targeted descent, error-minimising noise).</summary>
    Descend,
}
