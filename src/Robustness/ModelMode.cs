namespace Robustness;

/// <summary>
/// The mode a technique runs a model in while it works on inputs (crafting an attack, an adversarial example for
/// training, a protective perturbation): batch norm's statistics and dropout depend on it.
/// </summary>
public enum ModelMode
{
    /// <summary>Evaluation mode: batch norm uses its running statistics, dropout is off (attacks' default; TRADES' crafting).</summary>
    Eval,

    /// <summary>Training mode: batch norm uses (and updates) batch statistics, as Madry et al.'s PGD-AT crafts.</summary>
    Train,

    /// <summary>Whatever mode the model is in (torchattacks' behaviour when its training-mode switch is off).</summary>
    Unchanged,
}
