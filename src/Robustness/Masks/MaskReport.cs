using System.Globalization;
using System.Text;

namespace Robustness.Masks;

/// <summary>What a mask acts on.</summary>
public enum MaskTarget
{
    /// <summary>Individual weights (PwoA, magnitude pruning): the model keeps its shape.</summary>
    Weights,

    /// <summary>Output channels: the model can be sliced into a smaller dense one.</summary>
    Channels,

    /// <summary>A Vision Transformer's patch tokens: dropped tokens are removed from the sequence.</summary>
    Tokens,

    /// <summary>A Vision Transformer's attention links.</summary>
    AttentionLinks,

    /// <summary>Training examples.</summary>
    Examples,
}

/// <summary>Kept and total entries of one part of a mask (a parameter, a channel group, a block's tokens).</summary>
/// <param name="Name">The part's name.</param>
/// <param name="Kept">Entries kept.</param>
/// <param name="Total">Entries in all.</param>
public sealed record MaskPart(string Name, long Kept, long Total)
{
    /// <summary>Kept / Total (1 for an empty part).</summary>
    public double KeptFraction => Total == 0 ? 1 : (double)Kept / Total;
}

/// <summary>What a mask keeps, part by part: the one report of every kind of mask.</summary>
/// <param name="Target">What the mask acts on.</param>
/// <param name="Parts">Its parts, in network (or data) order.</param>
public sealed record MaskReport(MaskTarget Target, IReadOnlyList<MaskPart> Parts)
{
    /// <summary>Entries kept over all parts.</summary>
    public long Kept => Parts.Sum(p => p.Kept);

    /// <summary>Entries over all parts.</summary>
    public long Total => Parts.Sum(p => p.Total);

    /// <summary>Kept / Total over all parts.</summary>
    public double KeptFraction => Total == 0 ? 1 : (double)Kept / Total;

    /// <summary>A Markdown table: one row per part, then the total.</summary>
    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"| {Target} | kept | total | kept % |");
        text.AppendLine("|---|---:|---:|---:|");
        foreach (var part in Parts.Append(new MaskPart("all", Kept, Total)))
            text.AppendLine(CultureInfo.InvariantCulture, $"| {part.Name} | {part.Kept:N0} | {part.Total:N0} | {100 * part.KeptFraction:F1} |");
        return text.ToString();
    }
}
