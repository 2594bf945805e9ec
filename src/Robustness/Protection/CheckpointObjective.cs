using Robustness.Attacks;
using Robustness.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Protection;

/// <summary>
/// The per-checkpoint SEP losses and their input gradients: cross-entropy to the target (SEP) or the MSE between the
/// penultimate feature and the checkpoint's own centre of the target class (SEP-FA, SEP-FA-VR). Losses are per image
/// and summed over the batch, so each image's gradient is its own. autograd.grad leaves the weights' .grad alone.
/// </summary>
internal sealed class CheckpointObjective(SelfEnsembleProtection owner, ClassFeatureCentres[]? centres)
{
    public int Count => owner.CheckpointCount;

    /// <summary>
    /// grad_x L_k(x) for checkpoint <paramref name="k"/>, created in the caller's scope. A gradient that is not finite
    /// (NaN weights, broken kernels) throws: its sign would be NaN, the quantised image would equal the clean one, and an
    /// unprotected file would be written as protected.
    /// </summary>
    public Tensor Gradient(int k, Tensor x, Tensor targets)
    {
        var gradient = RawGradient(k, x, targets);
        if (!gradient.isfinite().all().item<bool>())
        {
            gradient.Dispose();
            throw new InvalidOperationException(
                $"Checkpoint {k}{(owner.SelectedEpochs is { } epochs ? $" (epoch {epochs[k]})" : "")} gives a gradient that is not finite (NaN or infinite): its weights or this CPU's kernels are broken; nothing was written for this batch. 'robustness doctor' checks the kernels.");
        }
        return gradient;
    }

    private Tensor RawGradient(int k, Tensor x, Tensor targets)
    {
        owner.CountGradientCall();
        var checkpoint = owner.Checkpoints[k];
        // Each checkpoint's graph and activations live only inside this scope; just the gradient leaves it.
        using var scope = NewDisposeScope();
        if (owner.Options.Variant == SepVariant.Sep)
            return AttackMath.InputGradient(checkpoint, x, logits => AttackMath.CrossEntropy(logits, targets)).MoveToOuterDisposeScope();

        var centre = centres![k].Centres;
        using var enable = enable_grad();
        var input = x.detach().requires_grad_(true);
        var features = checkpoint.Features(input);
        var loss = features.sub(centre.index_select(0, targets)).square().mean([1L]).sum();
        return autograd.grad([loss], [input])[0].detach().MoveToOuterDisposeScope();
    }

    /// <summary>(1/K) sum_k grad_x L_k(x), each checkpoint's graph freed before the next one runs.</summary>
    public Tensor MeanGradient(Tensor x, Tensor targets)
    {
        var sum = zeros_like(x);
        for (int k = 0; k < Count; k++)
        {
            using var gradient = Gradient(k, x, targets);
            sum.add_(gradient);
        }
        using var count = Count.ToScalar();
        return sum.div_(count);
    }
}
