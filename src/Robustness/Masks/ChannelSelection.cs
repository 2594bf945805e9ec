using Robustness.Models;
using Robustness.Validation;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Masks;

/// <summary>
/// The channels kept in each group of a <see cref="ChannelPlan"/> (sorted indices; a group not named keeps all). Made
/// nested (<see cref="Leading"/>: the first channels, so every smaller selection is inside every larger one, as a
/// slimmable or All-in-One network needs) or by importance (<see cref="ByL1Norm"/>: one-shot filter pruning).
/// Immutable.
/// </summary>
public sealed class ChannelSelection
{
    private readonly IReadOnlyDictionary<string, long[]> _kept;

    private ChannelSelection(ChannelPlan plan, IReadOnlyDictionary<string, long[]> kept)
    {
        Plan = plan;
        _kept = kept;
    }

    /// <summary>The plan the selection is for.</summary>
    public ChannelPlan Plan { get; }

    /// <summary>Every channel of every group.</summary>
    public static ChannelSelection All(ChannelPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return new ChannelSelection(plan, new Dictionary<string, long[]>());
    }

    /// <summary>
    /// The first max(1, ceil(<paramref name="ratio"/> x size)) channels of every group: nested selections, one per width
    /// ratio, all inside the full network (slimmable networks' and All-in-One's masks).
    /// </summary>
    public static ChannelSelection Leading(ChannelPlan plan, double ratio)
    {
        ArgumentNullException.ThrowIfNull(plan);
        CheckRatio(ratio);
        return new ChannelSelection(plan, plan.Groups.ToDictionary(g => g.Name, g => Enumerable.Range(0, Count(g, ratio)).Select(i => (long)i).ToArray()));
    }

    /// <summary>
    /// In every group of <paramref name="classifier"/>'s spec network, the max(1, ceil(<paramref name="ratio"/> x size))
    /// channels whose filters have the largest mean absolute weight, summed over the layers that write the group
    /// (L1-norm filter pruning, Li et al., ICLR 2017; a residual stream's channels are ranked over every block that adds
    /// to them).
    /// </summary>
    public static ChannelSelection ByL1Norm(Classifier classifier, double ratio)
    {
        var plan = PlanOf(classifier);
        CheckRatio(ratio);
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var state = classifier.Network.state_dict();
        var kept = new Dictionary<string, long[]>();
        foreach (var group in plan.Groups)
        {
            var importance = torch.zeros(group.Size, dtype: ScalarType.Float64);
            foreach (var tensor in plan.Tensors.Where(t => t.Output == group.Name && t.Name.EndsWith(".weight", StringComparison.Ordinal)))
            {
                var weight = state[tensor.Name];
                if (weight.dim() < 2) continue; // batch-norm scales are not filters
                importance = importance.add(weight.abs().flatten(1).mean([1L]).to(ScalarType.Float64).cpu());
            }
            var top = importance.topk(Count(group, ratio)).indexes.sort().Values;
            kept[group.Name] = top.data<long>().ToArray();
        }
        return new ChannelSelection(plan, kept);
    }

    /// <summary>A copy in which <paramref name="group"/> keeps <paramref name="channels"/> (distinct, in range, at least one).</summary>
    public ChannelSelection With(string group, IEnumerable<long> channels)
    {
        var g = Plan.Group(group);
        ArgumentNullException.ThrowIfNull(channels);
        var sorted = channels.Distinct().Order().ToArray();
        if (sorted.Length == 0) throw new ArgumentOutOfRangeException(nameof(channels), 0, $"Group '{group}' must keep at least one channel.");
        if (sorted[0] < 0 || sorted[^1] >= g.Size)
            throw new ArgumentOutOfRangeException(nameof(channels), $"Channels of group '{group}' must be in [0, {g.Size - 1}].");
        var copy = new Dictionary<string, long[]>(_kept) { [group] = sorted };
        return new ChannelSelection(Plan, copy);
    }

    /// <summary>The kept channels of <paramref name="group"/>, ascending.</summary>
    public IReadOnlyList<long> Kept(string group) =>
        _kept.TryGetValue(group, out var kept) ? kept : [.. Enumerable.Range(0, Plan.Group(group).Size).Select(i => (long)i)];

    /// <summary>How many channels <paramref name="group"/> keeps.</summary>
    public int KeptCount(string group) => _kept.TryGetValue(group, out var kept) ? kept.Length : Plan.Group(group).Size;

    /// <summary>Whether <paramref name="group"/> drops any channel.</summary>
    public bool Drops(string group) => KeptCount(group) < Plan.Group(group).Size;

    /// <summary>The spec of the sliced network (<see cref="ChannelPlan.SlicedSpec"/>).</summary>
    public ArchSpec SlicedSpec() => Plan.SlicedSpec(Plan.Groups.ToDictionary(g => g.Name, g => KeptCount(g.Name)));

    /// <summary>
    /// The channel plan of a classifier built from an architecture spec, or of a zoo model that has one
    /// (<see cref="ArchSpecs.Equivalent"/>: ResNet-18, VGG, WideResNet, whose parameter names are the spec network's).
    /// </summary>
    public static ChannelPlan PlanOf(Classifier classifier)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        var spec = classifier.Network is SpecNetwork network ? network.Spec : ArchSpecs.Equivalent(classifier.Spec)
            ?? throw new ArgumentException(
                $"Channel masks need a network built from an architecture spec ('{SpecNetwork.FamilyName}') or one of the zoo's models that have a spec " +
                $"(ResNet-18, VGG11/16, WideResNet); this one is '{classifier.Spec.Architecture}'.", nameof(classifier));
        return ChannelPlan.For(spec, classifier.Spec.ImageSize);
    }

    private static int Count(ChannelGroup group, double ratio) => Math.Max(1, (int)Math.Ceiling(ratio * group.Size - 1e-9));

    private static void CheckRatio(double ratio)
    {
        if (!(ratio > 0 && ratio <= 1)) throw new ArgumentOutOfRangeException(nameof(ratio), ratio, "ratio must be in (0, 1].");
    }
}
