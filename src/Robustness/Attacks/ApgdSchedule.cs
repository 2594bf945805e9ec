using Robustness.Validation;
namespace Robustness.Attacks;

/// <summary>
/// The checkpoints of Auto-PGD (Croce and Hein, 2020, section 3.2): the iterations at which the step size may be
/// halved. As fractions of the budget, p_0 = 0, p_1 = 0.22 and p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06):
/// the first interval is 22% of the iterations, each next one 3% shorter, never below 6%. Computed in whole
/// iterations as the reference implementation does (interval lengths floor(0.22 n), minus floor(0.03 n), at
/// least floor(0.06 n), each at least 1), so short runs still have checkpoints.
/// </summary>
public static class ApgdSchedule
{
    /// <summary>First interval, as a fraction of the iterations.</summary>
    public const double FirstInterval = 0.22;

    /// <summary>How much shorter each next interval is, as a fraction of the iterations.</summary>
    public const double Shrink = 0.03;

    /// <summary>The shortest interval, as a fraction of the iterations.</summary>
    public const double ShortestInterval = 0.06;

    /// <summary>
    /// The checkpoint iterations w_1 &lt; w_2 &lt; ... &lt;= <paramref name="iterations"/>: after that many steps the
    /// step-size conditions are checked. For 100 iterations: 22, 41, 57, 70, 80, 87, 93, 99.
    /// </summary>
    public static IReadOnlyList<int> Checkpoints(int iterations)
    {
        Require.AtLeast(iterations, 1, nameof(iterations));
        var checkpoints = new List<int>();
        int interval = FirstLength(iterations), at = interval;
        while (at <= iterations)
        {
            checkpoints.Add(at);
            interval = NextLength(interval, iterations);
            at += interval;
        }
        return checkpoints;
    }

    /// <summary>Length in iterations of the first interval.</summary>
    internal static int FirstLength(int iterations) => Math.Max((int)(FirstInterval * iterations), 1);

    /// <summary>Length of the interval after one of length <paramref name="interval"/>.</summary>
    internal static int NextLength(int interval, int iterations) =>
        Math.Max(interval - Math.Max((int)(Shrink * iterations), 1), Math.Max((int)(ShortestInterval * iterations), 1));
}
