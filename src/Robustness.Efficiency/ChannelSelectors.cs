using Robustness.Hosting;
using Robustness.Masks;

namespace Robustness.Efficiency;

/// <summary>A rule that chooses the channels a network keeps at a width ratio (a technique of the <c>channel-selector</c> family).</summary>
/// <param name="Name">Short lower-case name (<c>l1-norm</c>, <c>leading</c>).</param>
/// <param name="Description">One line for listings.</param>
/// <param name="Select">The selection for a classifier and a ratio in (0, 1].</param>
public sealed record ChannelSelectorDefinition(string Name, string Description, Func<Classifier, double, ChannelSelection> Select);

/// <summary>The channel selectors the efficiency module brings.</summary>
public static class ChannelSelectors
{
    /// <summary>The family: rules that choose which output channels a sliced network keeps.</summary>
    public static TechniqueFamily<ChannelSelectorDefinition> Family { get; } =
        new("channel-selector", "Channel selection: which output channels a sliced network keeps at a width ratio.");

    /// <summary>L1-norm filter pruning (Li et al., ICLR 2017): the channels whose filters have the largest mean |weight|.</summary>
    public static ChannelSelectorDefinition L1Norm { get; } = new("l1-norm",
        "One-shot L1-norm filter pruning (Li et al., ICLR 2017): keep the channels with the largest mean |weight|, a residual stream ranked over every block writing it.",
        ChannelSelection.ByL1Norm);

    /// <summary>The first channels of every group: nested widths, as slimmable and All-in-One networks use.</summary>
    public static ChannelSelectorDefinition Leading { get; } = new("leading",
        "The first ceil(ratio x C) channels of every group: nested selections (slimmable networks, All-in-One).",
        (classifier, ratio) => ChannelSelection.Leading(ChannelSelection.PlanOf(classifier), ratio));

    /// <summary>Both, L1 norm first (the default).</summary>
    public static IReadOnlyList<ChannelSelectorDefinition> All { get; } = [L1Norm, Leading];
}
