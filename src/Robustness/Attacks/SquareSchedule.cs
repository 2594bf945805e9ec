using Robustness.Validation;
namespace Robustness.Attacks;

/// <summary>
/// The Square Attack's schedule (Andriushchenko et al., 2020, section 3): p, the fraction of the image's pixels one
/// square changes, starts at p_init and is halved at iterations 10, 50, 200, 500, 1000, 2000, 4000, 6000 and 8000 of
/// a 10,000-query run; other budgets rescale those iterations proportionally (as the reference implementations do).
/// </summary>
public static class SquareSchedule
{
    private static readonly int[] Halvings = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000];

    /// <summary>p at <paramref name="iteration"/> (0-based) of a run of <paramref name="budget"/> queries.</summary>
    public static double Fraction(int iteration, int budget, double pInit)
    {
        Require.AtLeast(iteration, 0, nameof(iteration));
        Require.AtLeast(budget, 1, nameof(budget));
        int scaled = (int)((long)iteration * 10000 / budget);
        int halvings = Halvings.Count(h => scaled > h);
        return pInit / (1 << halvings);
    }

    /// <summary>
    /// Side of the l-inf square: round(sqrt(p * H * W)), at least 1 pixel and at most the image's shorter side.
    /// </summary>
    public static int LinfSide(double p, int height, int width) =>
        Math.Clamp((int)Math.Round(Math.Sqrt(p * height * width)), 1, Math.Min(height, width));

    /// <summary>
    /// Side of the l2 squares: round(sqrt(p * H * W)), at least 3 and odd (so the bump has a centre), at most the
    /// image's shorter side.
    /// </summary>
    public static int L2Side(double p, int height, int width)
    {
        int s = Math.Max((int)Math.Round(Math.Sqrt(p * height * width)), 3);
        if (s % 2 == 0) s++;
        return Math.Clamp(s, 1, Math.Min(height, width));
    }
}
