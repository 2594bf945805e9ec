using Robustness.Pruning;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Robustness.Models;

/// <summary>
/// One kind of network Robustness can build by name, and what the techniques need to know about it without a
/// switch on its name: how to build it from a <see cref="ModelSpec"/>, which hidden layers PwoA's representations
/// come from, which weights pruning touches, and its multiply-accumulate count. A module adds a family (a ViT,
/// DeepMAD's networks) with <c>AddRobustness().AddModelFamily(...)</c>; pruning, cloning, saving and loading then
/// work for it with no edit elsewhere.
/// </summary>
public abstract class ModelFamily
{
    /// <summary>The name stored in <see cref="ModelSpec.Architecture"/> and in saved files (lower-case, dashes).</summary>
    public abstract string Name { get; }

    /// <summary>One line for <c>--help</c> and <c>robustness modules</c>.</summary>
    public abstract string Description { get; }

    /// <summary>The width a spec with <c>Width = 0</c> gets (0 for a family without a width).</summary>
    public virtual int StandardWidth => 0;

    /// <summary>The family's standard model for <paramref name="classes"/> classes (CIFAR-sized RGB unless the family says otherwise).</summary>
    public virtual ModelSpec StandardSpec(int classes = 10) => new(Name, classes);

    /// <summary>
    /// A freshly initialised network for <paramref name="spec"/> (already validated against the common ranges);
    /// fields the family does not use must be rejected with an <see cref="ArgumentOutOfRangeException"/> naming them.
    /// </summary>
    public abstract Module<Tensor, Tensor> Build(ModelSpec spec);

    /// <summary>
    /// The hidden representations PwoA's HSIC and distillation terms read by default. The base class has none and
    /// says so; a family that supports PwoA without explicit layers overrides it.
    /// </summary>
    public virtual IReadOnlyList<RepresentationLayer> RepresentationLayers(Module<Tensor, Tensor> network, ModelSpec spec) =>
        throw new NotSupportedException($"No default representation layers for architecture '{spec.Architecture}'; pass the layers explicitly.");

    /// <summary>
    /// The weights pruning touches. Default: every convolution and linear weight, never batch-norm parameters nor
    /// biases (PwoA's rule); a family with other prunable groups (attention projections) overrides it.
    /// </summary>
    public virtual IReadOnlyList<PrunableParameter> PrunableParameters(Module<Tensor, Tensor> network) =>
        Pruning.PrunableParameters.Select(network);

    /// <summary>
    /// Multiply-accumulates of one forward pass on one image of the spec's size. Default: counted by running the
    /// network once and summing its convolutions and linear layers (<see cref="MacCounter"/>); a family whose cost
    /// lies elsewhere (attention's matrix products) overrides it.
    /// </summary>
    public virtual long Macs(Module<Tensor, Tensor> network, ModelSpec spec) => MacCounter.Count(network, spec);

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>A family given by a name, a description and a build function, for the common case of nothing else to say.</summary>
public sealed class DelegateModelFamily : ModelFamily
{
    private readonly Func<ModelSpec, Module<Tensor, Tensor>> _build;

    /// <summary>Creates the family; <paramref name="build"/> must reject spec fields it does not use.</summary>
    public DelegateModelFamily(string name, string description, Func<ModelSpec, Module<Tensor, Tensor>> build, int standardWidth = 0)
    {
        ModelFamilyRegistry.CheckName(name);
        ArgumentNullException.ThrowIfNull(description);
        ArgumentNullException.ThrowIfNull(build);
        Name = name;
        Description = description;
        _build = build;
        StandardWidth = standardWidth;
    }

    /// <inheritdoc />
    public override string Name { get; }

    /// <inheritdoc />
    public override string Description { get; }

    /// <inheritdoc />
    public override int StandardWidth { get; }

    /// <inheritdoc />
    public override Module<Tensor, Tensor> Build(ModelSpec spec) => _build(spec);
}
