using static TorchSharp.torch;

namespace Robustness.Models;

/// <summary>
/// A zoo network split at its penultimate layer: <c>forward(x) == Head(Features(x))</c>. Feature-space
/// techniques (SEP-FA's class centres, PwoA's representations) use the split; inputs are already normalised.
/// Zoo networks run their submodules through <c>call</c>, not <c>forward</c>, so that forward hooks fire as with
/// PyTorch's <c>__call__</c> (<c>Robustness.Pruning.RepresentationCapture</c> reads hidden layers that way).
/// </summary>
public interface IClassifierNetwork
{
    /// <summary>The penultimate feature vector, [N, FeatureSize].</summary>
    Tensor Features(Tensor normalisedInput);

    /// <summary>The classifier head: features to logits.</summary>
    Tensor Head(Tensor features);

    /// <summary>Length of the penultimate feature vector.</summary>
    int FeatureSize { get; }
}
