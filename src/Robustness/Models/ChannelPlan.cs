namespace Robustness.Models;

/// <summary>What a group of channels is in its network.</summary>
public enum ChannelRole
{
    /// <summary>Channels that several layers share through identity shortcuts (a residual stream) or a plain layer's output.</summary>
    Stream,

    /// <summary>Channels inside one block (a basic block's first conv, a bottleneck's or an inverted residual's inner width).</summary>
    Inner,
}

/// <summary>
/// Channels that must be kept or dropped together: every layer that writes them (conv rows, batch-norm entries) and
/// every layer that reads them (conv and linear columns) is listed in the <see cref="ChannelPlan"/>.
/// </summary>
/// <param name="Name">The group's name: the first module that writes it (<c>conv1</c>, <c>layer2.0</c>, <c>layer2.0.mid</c>, <c>features.4</c>).</param>
/// <param name="Size">Channels in the network as built.</param>
/// <param name="Role">Stream or inner.</param>
/// <param name="Stage">The stage whose width (stream) or inner width (inner) it sets; -1 for the stem.</param>
public sealed record ChannelGroup(string Name, int Size, ChannelRole Role, int Stage);

/// <summary>One state-dict tensor and the channel groups along its first two dimensions.</summary>
/// <param name="Name">The state-dict name.</param>
/// <param name="Output">The group along dimension 0 (conv rows, batch-norm entries, a bias), or null.</param>
/// <param name="Input">The group along dimension 1 (conv and linear columns), or null (the image, a depthwise conv).</param>
/// <param name="InputRepeat">Columns per input channel: 1, or the map's area for a flattening head (channel-major).</param>
/// <param name="IsNorm">A batch-norm entry (weight, bias, running statistics) rather than a convolution's or linear layer's.</param>
public sealed record ChannelTensor(string Name, string? Output, string? Input, int InputRepeat = 1, bool IsNorm = false);

/// <summary>
/// The channel groups of a <see cref="SpecNetwork"/> and, for each of its tensors, which groups index it: what channel
/// masks and physical slicing need to drop channels consistently (a residual stream's channels are dropped in every
/// block that adds to it). Follows <see cref="SpecNetwork"/>'s naming exactly.
/// </summary>
public sealed class ChannelPlan
{
    private readonly List<ChannelGroup> _groups = [];
    private readonly List<ChannelTensor> _tensors = [];

    private ChannelPlan(ArchSpec spec, int imageSize)
    {
        Spec = spec;
        ImageSize = imageSize;
        switch (spec.Layout)
        {
            case ArchLayout.Sequential: PlanSequential(); break;
            case ArchLayout.Residual: PlanResidual(); break;
            default: PlanPreActivation(); break;
        }
    }

    /// <summary>The plan of the network <paramref name="spec"/> builds for square images of <paramref name="imageSize"/> pixels.</summary>
    public static ChannelPlan For(ArchSpec spec, int imageSize = 32)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new ChannelPlan(spec.Validate(), imageSize);
    }

    /// <summary>The spec planned.</summary>
    public ArchSpec Spec { get; }

    /// <summary>The image size planned (it sets the columns of a flattening head).</summary>
    public int ImageSize { get; }

    /// <summary>The groups in network order.</summary>
    public IReadOnlyList<ChannelGroup> Groups => _groups;

    /// <summary>Every tensor a channel drop touches; the others (batch counters) are copied as they are.</summary>
    public IReadOnlyList<ChannelTensor> Tensors => _tensors;

    /// <summary>The group named <paramref name="name"/>, or an exception listing the names.</summary>
    public ChannelGroup Group(string name) => _groups.FirstOrDefault(g => g.Name == name)
        ?? throw new ArgumentException($"No channel group '{name}'; the groups are: {string.Join(", ", _groups.Select(g => g.Name))}.", nameof(name));

    /// <summary>
    /// The spec of the network with <paramref name="kept"/> channels per group (by name): stage widths from their stream
    /// groups, inner widths recorded as <see cref="StageSpec.MidWidth"/>. Throws when groups that one spec field sets
    /// (every block output of a plain stage, every inner group of a stage) would get different counts.
    /// </summary>
    public ArchSpec SlicedSpec(IReadOnlyDictionary<string, int> kept)
    {
        ArgumentNullException.ThrowIfNull(kept);
        int Count(ChannelGroup g) => kept.TryGetValue(g.Name, out int k) ? k : g.Size;
        int? Agreed(IEnumerable<ChannelGroup> groups, string what)
        {
            var counts = groups.Select(g => (g.Name, Count: Count(g))).ToList();
            if (counts.Count == 0) return null;
            if (counts.Any(c => c.Count != counts[0].Count))
                throw new ArgumentException(
                    $"{what} is one number in an architecture spec, but its channel groups keep different counts: " +
                    string.Join(", ", counts.Select(c => $"{c.Name} {c.Count}")) + ".", nameof(kept));
            return counts[0].Count;
        }

        var stem = Spec.Stem is null ? null : Spec.Stem with { Width = Agreed(_groups.Where(g => g.Stage == -1), "The stem width") ?? Spec.Stem.Width };
        var stages = Spec.Stages.Select((stage, i) =>
        {
            int width = Agreed(_groups.Where(g => g.Stage == i && g.Role == ChannelRole.Stream), $"Stage {i}'s width") ?? StreamInto(i);
            // Inner widths may differ block to block as built (an inverted residual's grows with its input); they are
            // one number only once slicing sets them.
            var inner = _groups.Where(g => g.Stage == i && g.Role == ChannelRole.Inner).ToList();
            int? mid = inner.Any(g => kept.ContainsKey(g.Name)) ? Agreed(inner, $"Stage {i}'s inner width") : null;
            return stage with { Width = width, MidWidth = mid ?? stage.MidWidth };
        }).ToArray();
        return new ArchSpec(stem, stages, Spec.Head).Validate();

        // A stage none of whose blocks starts a stream (identity shortcuts all through) is as wide as the stream it carries.
        int StreamInto(int stage) => Count(_groups.Last(g => g.Role == ChannelRole.Stream && g.Stage < stage));
    }

    private string Add(string name, int size, ChannelRole role, int stage)
    {
        _groups.Add(new ChannelGroup(name, size, role, stage));
        return name;
    }

    private void Conv(string name, string? output, string? input, bool bias = false)
    {
        _tensors.Add(new ChannelTensor($"{name}.weight", output, input));
        if (bias) _tensors.Add(new ChannelTensor($"{name}.bias", output, null));
    }

    private void Norm(string name, string group)
    {
        foreach (var tensor in new[] { "weight", "bias", "running_mean", "running_var" })
            _tensors.Add(new ChannelTensor($"{name}.{tensor}", group, null, IsNorm: true));
    }

    private void Head(string name, string input)
    {
        int area = Spec.HeadOrDefault.Pooling == HeadPooling.Flatten ? Spec.OutputSize(ImageSize) * Spec.OutputSize(ImageSize) : 1;
        _tensors.Add(new ChannelTensor($"{name}.weight", null, input, area));
    }

    // features.N: [stem conv, bn, act], then conv, bn, act per block and a pool after a stage that asks.
    private void PlanSequential()
    {
        int index = 0;
        string? previous = null;
        if (Spec.Stem is { } stem)
        {
            previous = Add("features.0", stem.Width, ChannelRole.Stream, -1);
            Conv("features.0", previous, null);
            if (stem.Normalised) { Norm("features.1", previous); index = 3; }
            else index = 1;
        }
        for (int s = 0; s < Spec.Stages.Count; s++)
        {
            var stage = Spec.Stages[s];
            for (int b = 0; b < stage.Depth; b++)
            {
                var group = Add($"features.{index}", stage.Width, ChannelRole.Stream, s);
                Conv($"features.{index}", group, previous, stage.Bias);
                Norm($"features.{index + 1}", group);
                previous = group;
                index += 3;
            }
            if (stage.PoolAfter) index++;
        }
        Head("classifier", previous!);
    }

    private void PlanResidual()
    {
        var stem = Spec.Stem!;
        string stream = Add("conv1", stem.Width, ChannelRole.Stream, -1);
        Conv("conv1", stream, null);
        if (stem.Normalised) Norm("bn1", stream);
        int channels = stem.Width;
        for (int s = 0; s < Spec.Stages.Count; s++)
        {
            var stage = Spec.Stages[s];
            for (int b = 0; b < stage.Depth; b++)
            {
                string p = $"layer{s + 1}.{b}";
                int stride = b == 0 ? stage.Stride : 1;
                int mid = stage.MidWidthFor(channels);
                bool keepsShape = stride == 1 && channels == stage.Width;
                string input = stream;
                switch (stage.Block)
                {
                    case BlockKind.Plain:
                        stream = Add(p, stage.Width, ChannelRole.Stream, s);
                        Conv($"{p}.conv1", stream, input, stage.Bias);
                        Norm($"{p}.bn1", stream);
                        break;
                    case BlockKind.Basic:
                    {
                        string inner = Add($"{p}.mid", mid, ChannelRole.Inner, s);
                        stream = keepsShape ? input : Add(p, stage.Width, ChannelRole.Stream, s);
                        Conv($"{p}.conv1", inner, input);
                        Norm($"{p}.bn1", inner);
                        Conv($"{p}.conv2", stream, inner);
                        Norm($"{p}.bn2", stream);
                        if (!keepsShape) Projection(p, stream, input);
                        break;
                    }
                    case BlockKind.Bottleneck:
                    {
                        string first = Add($"{p}.mid", mid, ChannelRole.Inner, s);
                        string second = Add($"{p}.mid2", mid, ChannelRole.Inner, s);
                        stream = keepsShape ? input : Add(p, stage.Width, ChannelRole.Stream, s);
                        Conv($"{p}.conv1", first, input);
                        Norm($"{p}.bn1", first);
                        Conv($"{p}.conv2", second, first);
                        Norm($"{p}.bn2", second);
                        Conv($"{p}.conv3", stream, second);
                        Norm($"{p}.bn3", stream);
                        if (!keepsShape) Projection(p, stream, input);
                        break;
                    }
                    default: // inverted residual: the depthwise conv ties its input and output channels
                    {
                        string inner = Add($"{p}.mid", mid, ChannelRole.Inner, s);
                        stream = keepsShape ? input : Add(p, stage.Width, ChannelRole.Stream, s);
                        Conv($"{p}.conv1", inner, input);
                        Norm($"{p}.bn1", inner);
                        Conv($"{p}.conv2", inner, null);
                        Norm($"{p}.bn2", inner);
                        Conv($"{p}.conv3", stream, inner);
                        Norm($"{p}.bn3", stream);
                        break;
                    }
                }
                channels = stage.Width;
            }
        }
        Head("linear", stream);
    }

    private void Projection(string block, string output, string input)
    {
        Conv($"{block}.shortcut.0", output, input);
        Norm($"{block}.shortcut.1", output);
    }

    private void PlanPreActivation()
    {
        var stem = Spec.Stem!;
        string stream = Add("conv1", stem.Width, ChannelRole.Stream, -1);
        Conv("conv1", stream, null);
        int channels = stem.Width;
        for (int s = 0; s < Spec.Stages.Count; s++)
        {
            var stage = Spec.Stages[s];
            for (int b = 0; b < stage.Depth; b++)
            {
                string p = $"block{s + 1}.layer.{b}";
                int stride = b == 0 ? stage.Stride : 1;
                bool keepsShape = stride == 1 && channels == stage.Width;
                string input = stream;
                string inner = Add($"{p}.mid", stage.MidWidthFor(channels), ChannelRole.Inner, s);
                stream = keepsShape ? input : Add(p, stage.Width, ChannelRole.Stream, s);
                Norm($"{p}.bn1", input);
                Conv($"{p}.conv1", inner, input);
                Norm($"{p}.bn2", inner);
                Conv($"{p}.conv2", stream, inner);
                if (!keepsShape) Conv($"{p}.convShortcut", stream, input);
                channels = stage.Width;
            }
        }
        Norm("bn1", stream);
        Head("fc", stream);
    }
}
