using Robustness.Attacks;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Optimization;

/// <summary>
/// The step rule of projected gradient methods: move by <see cref="StepSize"/> along the norm's steepest direction
/// of the gradient (sign for l-inf, g / ||g||_2 for l2, the top coordinates for l1; <see cref="AttackMath.SteepestDirection"/>).
/// </summary>
public sealed class SteepestStep
{
    /// <summary>
    /// Steps of <paramref name="stepSize"/> (>= 0, on the [0,1] scale) in the geometry of <paramref name="norm"/>; a zero
    /// step (a zero budget's) moves nothing.
    /// </summary>
    public SteepestStep(Norm norm, double stepSize)
    {
        if (!(stepSize >= 0) || !double.IsFinite(stepSize))
            throw new ArgumentOutOfRangeException(nameof(stepSize), stepSize, "stepSize must be a finite number >= 0.");
        Norm = norm;
        StepSize = stepSize;
    }

    /// <summary>The geometry of the step.</summary>
    public Norm Norm { get; }

    /// <summary>The step's length on the [0,1] scale.</summary>
    public double StepSize { get; }

    /// <summary>x + stepSize * d(gradient) when ascending, x - stepSize * d(gradient) when descending.</summary>
    public Tensor Move(Tensor x, Tensor gradient, StepDirection direction)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(gradient);
        using var step = StepSize.ToScalar();
        var d = AttackMath.SteepestDirection(gradient, Norm);
        // Multiplication commutes exactly in IEEE arithmetic: d * step and step * d are the same values.
        return direction == StepDirection.Ascend ? x + d * step : x - step * d;
    }
}
