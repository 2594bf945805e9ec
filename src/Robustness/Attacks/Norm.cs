namespace Robustness.Attacks;

/// <summary>The norm that measures a perturbation: its size is ||x' - x|| per image.</summary>
public enum Norm
{
    /// <summary>Largest absolute change of any pixel value (l-infinity).</summary>
    Linf,

    /// <summary>Euclidean length of the whole perturbation of an image (l2).</summary>
    L2,

    /// <summary>Sum of absolute changes (l1), for the methods that define it.</summary>
    L1,
}

/// <summary>Parsing and formatting of <see cref="Norm"/> names (<c>linf</c>, <c>l2</c>, <c>l1</c>).</summary>
public static class Norms
{
    /// <summary>Parses <c>linf</c>/<c>inf</c>/<c>l-inf</c>, <c>l2</c>, <c>l1</c> (case-insensitive).</summary>
    public static Norm Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Trim().ToLowerInvariant() switch
        {
            "linf" or "inf" or "l-inf" or "l_inf" => Norm.Linf,
            "l2" => Norm.L2,
            "l1" => Norm.L1,
            _ => throw new ArgumentOutOfRangeException(nameof(text), text, "Norm must be linf, l2 or l1."),
        };
    }

    /// <summary>The short name: linf, l2, l1.</summary>
    public static string Name(this Norm norm) => norm switch { Norm.Linf => "linf", Norm.L2 => "l2", _ => "l1" };
}
