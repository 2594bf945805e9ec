using Robustness.Models;
using Robustness.Pruning;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Masks;

/// <summary>
/// Output channels kept or dropped, on a network built from an architecture spec. In place (<see cref="Apply"/>,
/// <see cref="ToMaskSet"/>), every layer that reads a dropped channel has that input column zeroed, so the dropped
/// channels still flow but no longer reach anything kept: the logits are those of the sliced network. Materialised,
/// the network is sliced for real (<see cref="Materialise"/>): a smaller <c>arch-spec</c> model, a normal model file,
/// whose kept channels carry the same weights, batch-norm statistics and therefore the same logits (up to float
/// summation order), and whose cost card is the saving.
/// </summary>
public sealed class ChannelMask(ChannelSelection selection) : IModelMask
{
    /// <summary>The kept channels.</summary>
    public ChannelSelection Selection { get; } = selection ?? throw new ArgumentNullException(nameof(selection));

    /// <inheritdoc />
    public MaskTarget Target => MaskTarget.Channels;

    /// <inheritdoc />
    public MaskReport Report(Classifier classifier)
    {
        Check(classifier);
        return new MaskReport(Target, [.. Selection.Plan.Groups.Select(g => new MaskPart(g.Name, Selection.KeptCount(g.Name), g.Size))]);
    }

    /// <summary>
    /// Weight masks that zero every input column reading a dropped channel: apply them, or train under them (a
    /// <see cref="MaskSet"/> is the training loop's masked update), and the network computes as the sliced one.
    /// </summary>
    public MaskSet ToMaskSet(Classifier classifier)
    {
        Check(classifier);
        var parameters = classifier.Network.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var masks = new List<PruningMask>();
        try
        {
            foreach (var tensor in Selection.Plan.Tensors)
            {
                if (tensor.Input is null || !Selection.Drops(tensor.Input)) continue;
                using var scope = torch.NewDisposeScope();
                var weight = parameters[tensor.Name];
                var keep = torch.zeros(weight.shape, ScalarType.Bool);
                using var columns = InputColumns(tensor);
                keep.index_fill_(1, columns, Runtime.Scalars.True);
                masks.Add(new PruningMask(tensor.Name, keep, "channel"));
            }
            return new MaskSet(masks);
        }
        catch
        {
            foreach (var m in masks) m.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public void Apply(Classifier classifier)
    {
        using var masks = ToMaskSet(classifier);
        masks.Apply(classifier);
    }

    /// <inheritdoc />
    public Classifier Materialise(Classifier classifier)
    {
        Check(classifier);
        var sliced = Selection.SlicedSpec();
        var spec = sliced.ToModelSpec(classifier.Spec.Classes, classifier.Spec.InputChannels, classifier.Spec.ImageSize);
        var network = new SpecNetwork(sliced, spec.Classes, spec.InputChannels, spec.ImageSize);
        var result = new Classifier(network, spec, classifier.Normalization, classifier.ClassNames, classifier.Device);
        try
        {
            CopySliced(classifier, result);
            if (classifier.IsTraining) result.Train(); else result.Eval();
            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    private void CopySliced(Classifier source, Classifier target)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var from = source.Network.state_dict();
        var roles = Selection.Plan.Tensors.ToDictionary(t => t.Name);
        foreach (var (name, destination) in target.Network.state_dict())
        {
            var value = from[name];
            if (roles.TryGetValue(name, out var role))
            {
                if (role.Output is not null) value = value.index_select(0, Indices(Selection.Kept(role.Output), value.device));
                if (role.Input is not null)
                {
                    using var columns = InputColumns(role);
                    value = value.index_select(1, columns.to(value.device));
                }
            }
            if (!value.shape.SequenceEqual(destination.shape))
                throw new InvalidOperationException($"Slicing '{name}' gave [{string.Join(", ", value.shape)}], the sliced network has [{string.Join(", ", destination.shape)}].");
            destination.copy_(value);
        }
    }

    // The columns of a reading layer that belong to kept input channels (channel-major blocks for a flattening head).
    private Tensor InputColumns(ChannelTensor tensor)
    {
        var kept = Selection.Kept(tensor.Input!);
        int repeat = tensor.InputRepeat;
        return torch.tensor(kept.SelectMany(c => Enumerable.Range(0, repeat).Select(p => c * repeat + p)).ToArray(), ScalarType.Int64);
    }

    private static Tensor Indices(IReadOnlyList<long> kept, Device device) => torch.tensor(kept.ToArray(), ScalarType.Int64, device);

    private void Check(Classifier classifier)
    {
        var plan = ChannelSelection.PlanOf(classifier);
        if (!plan.Spec.Equals(Selection.Plan.Spec) || plan.ImageSize != Selection.Plan.ImageSize)
            throw new ArgumentException("This channel mask was made for another architecture or image size.", nameof(classifier));
    }
}
