using Robustness.Validation;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Optimization;

/// <summary>
/// The one projected-gradient engine: x_{k+1} = Proj_S(x_k +/- alpha d(grad f(x_k))), for an objective f
/// (<see cref="IGradientObjective"/>: a classifier's loss in a chosen mode, SEP's checkpoint ensemble), a direction
/// (ascend or descend), a step rule (<see cref="SteepestStep"/>) and a feasible set S (<see cref="NormBall"/>,
/// <see cref="LinfBox"/>). PGD and the other iterative attacks, adversarial training's inner maximisation, SEP's
/// crafting and error-minimising noise all step through <see cref="Step"/>; the plain loop is <see cref="Run"/>.
/// Methods with more around the step (PGD's early stop, SVRE's inner loop, momentum) call <see cref="Step"/> themselves.
/// </summary>
public sealed class ProjectedGradientMethod
{
    /// <summary>An engine that moves by <paramref name="rule"/> in <paramref name="direction"/>.</summary>
    public ProjectedGradientMethod(SteepestStep rule, StepDirection direction)
    {
        ArgumentNullException.ThrowIfNull(rule);
        if (!Enum.IsDefined(direction)) throw new ArgumentOutOfRangeException(nameof(direction), direction, "direction must be Ascend or Descend.");
        Rule = rule;
        Direction = direction;
    }

    /// <summary>The step rule.</summary>
    public SteepestStep Rule { get; }

    /// <summary>Ascend or descend.</summary>
    public StepDirection Direction { get; }

    /// <summary>One step from <paramref name="x"/> along <paramref name="gradient"/>, projected onto <paramref name="set"/>.</summary>
    public Tensor Step(Tensor x, Tensor gradient, IFeasibleSet set)
    {
        ArgumentNullException.ThrowIfNull(set);
        return set.Project(Rule.Move(x, gradient, Direction));
    }

    /// <summary>
    /// <paramref name="steps"/> steps from <paramref name="start"/> (which stays the caller's), each in its own dispose
    /// scope, with the objective's models in its mode for the run. The result is detached, in the caller's dispose
    /// scope; earlier iterates are freed as the run goes. Cancellation is honoured between steps.
    /// </summary>
    public Tensor Run(Tensor start, IFeasibleSet set, IGradientObjective objective, int steps, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(start);
        ArgumentNullException.ThrowIfNull(set);
        ArgumentNullException.ThrowIfNull(objective);
        Require.AtLeast(steps, 0, nameof(steps));
        using var mode = objective.Begin();
        var current = start.detach();
        for (int s = 0; s < steps; s++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = torch.NewDisposeScope();
            var gradient = objective.Gradient(current);
            var next = Step(current, gradient, set).detach().MoveToOuterDisposeScope();
            current.Dispose(); // the previous iterate (the first is a detached alias of start, which stays the caller's)
            current = next;
        }
        return current;
    }
}
