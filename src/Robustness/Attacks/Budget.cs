using System.Globalization;

namespace Robustness.Attacks;

/// <summary>
/// Perturbation budgets as people write them. <c>8/255</c> is a fraction; a number with a decimal point or an
/// exponent (<c>0.0314</c>, <c>0.5</c>, <c>1.0</c>) is on the [0,1] image scale; a whole number without a point
/// (<c>8</c>) or a number ending in <c>px</c> (<c>8px</c>, <c>0.5px</c>) is in pixel levels and divided by 255.
/// </summary>
public static class Budget
{
    /// <summary>
    /// The slack on a budget when judging a result: an adversarial counts when ||x' - x|| &lt;= eps + 1e-6 (float32
    /// rounding of the image). The one value every evaluation uses (<see cref="Evaluation.RobustnessEvaluation"/>, the
    /// default of <see cref="Evaluation.AutoAttackOptions.Tolerance"/>).
    /// </summary>
    public const double Tolerance = 1e-6;

    /// <summary>Parses a budget into the [0,1] image scale. Negative, NaN or infinite values raise, naming <paramref name="name"/>.</summary>
    public static double Parse(string text, string name = "eps")
    {
        ArgumentNullException.ThrowIfNull(text);
        string s = text.Trim().ToLowerInvariant();
        double value;
        if (s.Contains('/'))
        {
            var parts = s.Split('/');
            if (parts.Length != 2 || !TryNumber(parts[0], out double num) || !TryNumber(parts[1], out double den) || den == 0)
                throw Bad(text, name);
            value = num / den;
        }
        else if (s.EndsWith("px", StringComparison.Ordinal))
        {
            if (!TryNumber(s[..^2], out double pixels)) throw Bad(text, name);
            value = pixels / 255.0;
        }
        else if (TryNumber(s, out double plain))
        {
            bool wholePixels = !s.Contains('.') && !s.Contains('e');
            value = wholePixels ? plain / 255.0 : plain;
        }
        else
        {
            throw Bad(text, name);
        }
        return Check(value, name);
    }

    /// <summary>Checks that a budget is finite and >= 0; returns it.</summary>
    public static double Check(double value, string name = "eps")
    {
        if (double.IsNaN(value) || double.IsInfinity(value) || value < 0)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be a finite number >= 0.");
        return value;
    }

    /// <summary>
    /// An l-inf budget on images: <see cref="Check"/> and at most 1 (the whole [0,1] pixel range). Data protection and
    /// the tool's <c>--eps</c> use this one check.
    /// </summary>
    public static double CheckImageLinf(double value, string name = "eps")
    {
        Check(value, name);
        return value <= 1 ? value
            : throw new ArgumentOutOfRangeException(name, value, $"{name} must be in [0, 1] (an l-inf budget on the [0,1] image scale).");
    }

    /// <summary>A budget as a readable string: <c>8/255</c> when it is a whole number of pixel levels, else the number.</summary>
    public static string Format(double value)
    {
        double levels = value * 255.0;
        return Math.Abs(levels - Math.Round(levels)) < 1e-6 && levels >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{Math.Round(levels):0}/255")
            : value.ToString("G4", CultureInfo.InvariantCulture);
    }

    private static bool TryNumber(string s, out double value) =>
        double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out value);

    private static ArgumentOutOfRangeException Bad(string text, string name) =>
        new(name, text, $"{name} '{text}' is not a budget: write 8/255, 0.0314, 8 (pixel levels) or 8px.");
}
