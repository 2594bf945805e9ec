using Robustness.Validation;
namespace Robustness.Models;

/// <summary>
/// Shared checks that turn a <see cref="ModelSpec"/> into the concrete shape of one zoo architecture, so every
/// factory rejects fields it does not use with the same clear message instead of silently ignoring them.
/// </summary>
internal static class SpecRules
{
    /// <summary>The constructor checks every zoo network shares: classes >= 2, width >= 1, inputChannels >= 1.</summary>
    public static void CheckShape(int classes, int width, int inputChannels)
    {
        Require.AtLeast(classes, 2, nameof(classes));
        Require.AtLeast(width, 1, nameof(width));
        Require.AtLeast(inputChannels, 1, nameof(inputChannels));
    }

    /// <summary>The spec's width, or <paramref name="standard"/> when it is 0.</summary>
    public static int Width(ModelSpec spec, int standard) => spec.Width == 0 ? standard : spec.Width;

    /// <summary>Rejects a Depth other than 0 or the architecture's fixed <paramref name="depth"/>.</summary>
    public static void RequireFixedDepth(ModelSpec spec, int depth)
    {
        if (spec.Depth != 0 && spec.Depth != depth)
            throw new ArgumentOutOfRangeException(nameof(ModelSpec.Depth), spec.Depth,
                $"{spec.Architecture} has a fixed depth of {depth}; Depth must be 0 or {depth}.");
    }

    /// <summary>Rejects a Depth other than 0 for architectures whose depth is not a parameter.</summary>
    public static void RequireNoDepth(ModelSpec spec)
    {
        if (spec.Depth != 0)
            throw new ArgumentOutOfRangeException(nameof(ModelSpec.Depth), spec.Depth,
                $"{spec.Architecture} has no depth parameter; Depth must be 0.");
    }

    /// <summary>Rejects a WidenFactor other than 0 for architectures that have none.</summary>
    public static void RequireNoWidenFactor(ModelSpec spec)
    {
        if (spec.WidenFactor != 0)
            throw new ArgumentOutOfRangeException(nameof(ModelSpec.WidenFactor), spec.WidenFactor,
                $"{spec.Architecture} has no widen factor; WidenFactor must be 0 (use Width to scale it).");
    }
}
