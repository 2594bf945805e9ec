namespace Robustness.Attacks;

/// <summary>Option checks the base records do not offer, with the same style of message.</summary>
internal static class OptionCheck
{
    /// <summary>Throws unless <paramref name="value"/> is a finite number &gt; 0.</summary>
    public static void Positive(double value, string name)
    {
        if (double.IsNaN(value) || double.IsInfinity(value) || value <= 0)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be a finite number > 0.");
    }
}
