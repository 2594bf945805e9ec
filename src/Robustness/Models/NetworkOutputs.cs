using static TorchSharp.torch;

namespace Robustness.Models;

/// <summary>
/// What one forward pass of a network with several outputs gives: the class logits, which attacks, training and
/// evaluation use by default, and named auxiliary outputs (early-exit logits, token keep decisions) that the
/// techniques built on them read. The tensors belong to the caller's dispose scope.
/// </summary>
/// <param name="Logits">The classifier's logits [N, Classes] (the same tensor <c>forward</c> returns).</param>
/// <param name="Auxiliary">Further outputs by name; empty for a single-output network.</param>
public sealed record NetworkOutputs(Tensor Logits, IReadOnlyDictionary<string, Tensor> Auxiliary)
{
    /// <summary>Outputs of a network that has only logits.</summary>
    public static NetworkOutputs LogitsOnly(Tensor logits) => new(logits, new Dictionary<string, Tensor>());
}

/// <summary>
/// A network with outputs beyond its logits. Its <c>forward</c> still returns the logits alone, so every technique
/// that only needs logits works unchanged; <see cref="Classifier.ForwardOutputs"/> returns all of them.
/// </summary>
public interface IMultiOutputNetwork
{
    /// <summary>Every output for already normalised inputs; <c>Logits</c> equals what <c>forward</c> returns.</summary>
    NetworkOutputs ForwardOutputs(Tensor normalisedInput);

    /// <summary>The names of the auxiliary outputs, in a stable order.</summary>
    IReadOnlyList<string> AuxiliaryOutputNames { get; }
}
