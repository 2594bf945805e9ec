using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Robustness.Pruning;

/// <summary>One weight tensor a pruner prunes: its state-dict name, the parameter itself and the kind of layer it belongs to.</summary>
/// <param name="Name">The parameter's name as in <c>named_parameters()</c> (e.g. <c>layer2.0.shortcut.0.weight</c>).</param>
/// <param name="Weight">The live parameter of the network (pruning writes into it).</param>
/// <param name="LayerType">The owning module's type name (<c>Conv2d</c>, <c>Linear</c>, ...).</param>
public sealed record PrunableParameter(string Name, Parameter Weight, string LayerType)
{
    /// <summary>The weight's shape.</summary>
    public long[] Shape => Weight.shape;

    /// <summary>Number of weights.</summary>
    public long Count => Weight.numel();
}

/// <summary>
/// Which weights pruning touches, as PwoA says it prunes them: the weight of every convolution (including the first
/// conv and 1x1 shortcuts) and of every linear layer (the classifier too); never BatchNorm parameters nor biases.
/// Selected by module type, not by name patterns, so it works for any network (the public PwoA code's name rule
/// missed LeNet's fully connected layers).
/// </summary>
public static class PrunableParameters
{
    /// <summary>
    /// The prunable weights of <paramref name="classifier"/>'s network as its family defines them
    /// (<see cref="Models.ModelFamily.PrunableParameters"/>; by default the rule below), in <c>named_parameters()</c> order.
    /// </summary>
    public static IReadOnlyList<PrunableParameter> Select(Classifier classifier)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        return classifier.Family?.PrunableParameters(classifier.Network) ?? Select(classifier.Network);
    }

    /// <summary>The prunable weights of <paramref name="network"/>, in <c>named_parameters()</c> order.</summary>
    public static IReadOnlyList<PrunableParameter> Select(nn.Module network)
    {
        ArgumentNullException.ThrowIfNull(network);
        var owners = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, module) in network.named_modules())
            if (module is Convolution or Linear)
                owners[name.Length == 0 ? "weight" : name + ".weight"] = module.GetType().Name;

        var selected = new List<PrunableParameter>();
        foreach (var (name, parameter) in network.named_parameters())
            if (owners.TryGetValue(name, out var type))
                selected.Add(new PrunableParameter(name, parameter, type));
        return selected;
    }
}
