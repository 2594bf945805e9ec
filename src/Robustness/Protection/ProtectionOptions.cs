using Robustness.Validation;
using Robustness.Attacks;

namespace Robustness.Protection;

/// <summary>
/// What every protector's options carry: the l-inf budget and a seed. Each method has its own record deriving from
/// this with its paper's defaults, and validates itself (<see cref="Validate"/>).
/// </summary>
public abstract record ProtectionOptions
{
    /// <summary>The l-inf budget on the [0,1] scale (8/255 by default). Parse user text with <see cref="Budget.Parse"/>.</summary>
    public double Epsilon { get; init; } = 8.0 / 255.0;

    /// <summary>Seed of every random draw of the method (noise, checkpoint draws).</summary>
    public int Seed { get; init; }

    /// <summary>
    /// Throws <see cref="ArgumentOutOfRangeException"/> naming the first option out of range and returns these options
    /// (derived records override it with their own type), as every options record of the library does.
    /// </summary>
    public virtual ProtectionOptions Validate()
    {
        Budget.CheckImageLinf(Epsilon, nameof(Epsilon));
        Require.AtLeast(Seed, 0, nameof(Seed));
        return this;
    }

    /// <summary>Checks a whole-number option against a lower bound.</summary>
    protected static void AtLeast(int value, int min, string name)
    {
        if (value < min) throw new ArgumentOutOfRangeException(name, value, $"{name} must be >= {min}.");
    }

    /// <summary>Checks a finite number option in [min, max].</summary>
    protected static void InRange(double value, double min, double max, string name)
    {
        if (double.IsNaN(value) || double.IsInfinity(value) || value < min || value > max)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be a finite number in [{min}, {max}].");
    }

    /// <summary>
    /// A seed for one batch, mixed from the options' seed and the index of the batch's first image, so a batch gets the
    /// same random draws whichever shard or resumed run protects it.
    /// </summary>
    public static ulong BatchSeed(int seed, int firstIndex) => unchecked((ulong)seed * 1_000_003UL + (ulong)firstIndex * 7_919UL + 17UL);
}
