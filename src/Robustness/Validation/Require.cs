using System.Globalization;

namespace Robustness.Validation;

/// <summary>
/// The argument checks every options record and API of the library (and of its modules) uses, so that one quantity is
/// checked against one range with one message everywhere: each throws <see cref="ArgumentOutOfRangeException"/> naming
/// the argument, its value and the allowed range, and returns the value when it is in range.
/// </summary>
public static class Require
{
    /// <summary><paramref name="value"/> &gt;= <paramref name="minimum"/>; <paramref name="why"/> is added to the message.</summary>
    public static int AtLeast(int value, int minimum, string name, string? why = null) =>
        value >= minimum ? value : throw new ArgumentOutOfRangeException(name, value, Message($"{name} must be >= {minimum}", why));

    /// <summary><paramref name="value"/> &gt;= <paramref name="minimum"/> for counts that may pass int's range (pixels, bytes).</summary>
    public static long AtLeast(long value, long minimum, string name, string? why = null) =>
        value >= minimum ? value : throw new ArgumentOutOfRangeException(name, value, Message($"{name} must be >= {minimum}", why));

    /// <summary>A batch size: &gt;= 1 image.</summary>
    public static int BatchSize(int value, string name) => AtLeast(value, 1, name);

    /// <summary>A fraction in [0, 1), e.g. SGD momentum.</summary>
    public static double FractionBelowOne(double value, string name, string? why = null) =>
        value >= 0 && value < 1 ? value : throw new ArgumentOutOfRangeException(name, value, Message($"{name} must be in [0, 1)", why));

    /// <summary>SGD momentum: in [0, 1).</summary>
    public static double Momentum(double value, string name) => FractionBelowOne(value, name);

    /// <summary>A pruning sparsity, the share of weights zeroed: in [0, 1) (a compression ratio of 4x is 0.75).</summary>
    public static double Sparsity(double value, string name) => FractionBelowOne(value, name, "4x compression = 0.75");

    /// <summary>A finite number &gt; 0 (a learning rate, a step size, a kernel width).</summary>
    public static double Positive(double value, string name, string? why = null) =>
        value > 0 && double.IsFinite(value) ? value : throw new ArgumentOutOfRangeException(name, value, Message($"{name} must be a finite number > 0", why));

    /// <summary>A finite number &gt;= 0 (a weight of a loss term, a decay).</summary>
    public static double NonNegative(double value, string name, string? why = null) =>
        value >= 0 && double.IsFinite(value) ? value : throw new ArgumentOutOfRangeException(name, value, Message($"{name} must be a finite number >= 0", why));

    /// <summary>A finite number in [<paramref name="minimum"/>, <paramref name="maximum"/>]; an infinite maximum means no upper end.</summary>
    public static double InRange(double value, double minimum, double maximum, string name) =>
        double.IsFinite(value) && value >= minimum && value <= maximum
            ? value
            : throw new ArgumentOutOfRangeException(name, value, double.IsPositiveInfinity(maximum)
                ? Message($"{name} must be a finite number >= {minimum}", null)
                : Message($"{name} must be a finite number in [{minimum}, {maximum}]", null));

    private static string Message(FormattableString rule, string? why) =>
        rule.ToString(CultureInfo.InvariantCulture) + (why is null ? "." : $" ({why}).");
}
