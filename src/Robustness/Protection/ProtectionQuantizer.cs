using Robustness.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Protection;

/// <summary>
/// Turns a perturbed float image into the stored uint8 image with the bound holding exactly: the clean bytes plus an
/// integer delta of at most <see cref="Levels"/> per channel, clipped to [0,255]. Rounding (not flooring, which the
/// public SEP code does) keeps the delta unbiased; clamping the integer delta makes the bound exact after rounding.
/// </summary>
public static class ProtectionQuantizer
{
    /// <summary>
    /// The largest whole number of 1/255 levels within <paramref name="epsilon"/>: floor(eps*255 + 1e-6). For every budget
    /// written k/255 this is k (= round(eps*255)); for a decimal budget such as 0.03 (7.65 levels) it is 7, so the stored
    /// delta never exceeds the budget on the [0,1] scale either.
    /// </summary>
    public static int Levels(double epsilon)
    {
        Attacks.Budget.CheckImageLinf(epsilon, nameof(epsilon));
        return (int)Math.Floor(epsilon * 255.0 + 1e-6);
    }

    /// <summary>
    /// Quantises <paramref name="perturbed"/> (float, [N,C,H,W]) against <paramref name="clean"/> (float, exact k/255 values)
    /// into a uint8 tensor on the CPU: clean + clamp(round((perturbed - clean) * 255), -levels, levels), clipped to [0,255].
    /// </summary>
    public static Tensor Quantize(Tensor clean, Tensor perturbed, double epsilon)
    {
        ArgumentNullException.ThrowIfNull(clean);
        ArgumentNullException.ThrowIfNull(perturbed);
        if (!clean.shape.SequenceEqual(perturbed.shape))
            throw new ArgumentException($"perturbed has shape [{string.Join(", ", perturbed.shape)}]; clean has [{string.Join(", ", clean.shape)}].", nameof(perturbed));
        int levels = Levels(epsilon);
        using var scope = NewDisposeScope();
        using Scalar lowest = (-levels).ToScalar(), highest = levels.ToScalar();
        var cleanLevels = clean.to(float32).mul(Scalars.Levels255).round();
        var delta = perturbed.to(float32).mul(Scalars.Levels255).round().sub(cleanLevels).clamp(lowest, highest);
        var stored = cleanLevels.add(delta).clamp(Scalars.Zero, Scalars.Levels255).to(ScalarType.Byte).cpu();
        return stored.MoveToOuterDisposeScope();
    }

    /// <summary>Converts stored uint8 images back to float32 in [0,1] (on <paramref name="device"/> if given).</summary>
    public static Tensor ToFloat(Tensor stored, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(stored);
        using var scope = NewDisposeScope();
        var images = stored.to(float32).div(Scalars.Levels255);
        if (device is not null) images = images.to(device);
        return images.MoveToOuterDisposeScope();
    }
}
