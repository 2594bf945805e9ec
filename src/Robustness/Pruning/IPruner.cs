using Robustness.Data;

namespace Robustness.Pruning;

/// <summary>
/// A pruning method: takes a trained classifier (left unchanged) and training data, returns a pruned copy. PwoA and
/// its baselines (naive magnitude pruning with fine-tuning, adversarial pruning, ablations) share this interface so
/// the CLI and the benchmarks can run any of them by name.
/// </summary>
public interface IPruner
{
    /// <summary>The method's name (<c>pwoa</c>, <c>magnitude</c>, ...).</summary>
    string Name { get; }

    /// <summary>The fraction of weights zeroed in every pruned layer.</summary>
    double Sparsity { get; }

    /// <summary>
    /// Prunes a copy of <paramref name="teacher"/> (which is not modified) using <paramref name="train"/>. The caller
    /// owns and disposes <see cref="PruningResult.Student"/>. Cancellation is honoured between batches.
    /// </summary>
    PruningResult Prune(Classifier teacher, IImageCollection train, IProgress<PruningProgress>? progress = null,
        CancellationToken cancellationToken = default);
}

/// <summary>The phases of a pruning run.</summary>
public enum PruningPhase
{
    /// <summary>ADMM training towards the sparse set (weights still dense).</summary>
    Admm,

    /// <summary>The hard prune: W = Pi_p(W), mask = W != 0.</summary>
    HardPrune,

    /// <summary>Masked retraining (fine-tuning) of the pruned network.</summary>
    Retrain,
}

/// <summary>Progress of a pruning run, reported every few batches.</summary>
/// <param name="Phase">The running phase.</param>
/// <param name="Epoch">0-based epoch within the phase.</param>
/// <param name="Epochs">Epochs of the phase.</param>
/// <param name="Batch">Batches done in this epoch.</param>
/// <param name="Batches">Batches per epoch.</param>
/// <param name="Loss">Mean loss so far in this epoch.</param>
/// <param name="LearningRate">The current learning rate.</param>
/// <param name="Elapsed">Wall time since the run started.</param>
public sealed record PruningProgress(PruningPhase Phase, int Epoch, int Epochs, int Batch, int Batches, double Loss, double LearningRate, TimeSpan Elapsed);

/// <summary>One epoch of a pruning run: the mean of each loss term over its images.</summary>
/// <param name="Phase">The phase it belongs to.</param>
/// <param name="Epoch">0-based epoch within the phase.</param>
/// <param name="Loss">Mean total loss.</param>
/// <param name="Distillation">Mean self-distillation term.</param>
/// <param name="Hsic">Mean HSIC term (0 when inactive).</param>
/// <param name="AdmmPenalty">Mean ADMM penalty (0 outside the ADMM phase).</param>
/// <param name="LearningRate">Learning rate of the epoch's last step.</param>
/// <param name="Rho">ADMM rho during the epoch, or null outside the ADMM phase.</param>
/// <param name="Duration">Wall time of the epoch.</param>
public sealed record PruningEpoch(PruningPhase Phase, int Epoch, double Loss, double Distillation, double Hsic, double AdmmPenalty,
    double LearningRate, double? Rho, TimeSpan Duration);

/// <summary>Wall time of one phase.</summary>
/// <param name="Phase">The phase.</param>
/// <param name="Epochs">Epochs it ran (0 for the hard prune).</param>
/// <param name="Duration">Its wall time.</param>
public sealed record PhaseTiming(PruningPhase Phase, int Epochs, TimeSpan Duration)
{
    /// <summary>Wall time per epoch, or the whole duration for a phase without epochs.</summary>
    public TimeSpan PerEpoch => Epochs > 0 ? Duration / Epochs : Duration;
}

/// <summary>What a pruner returns.</summary>
/// <param name="Student">The pruned classifier (in eval mode); the caller disposes it.</param>
/// <param name="Sparsity">True sparsity of the pruned tensors.</param>
/// <param name="Phases">Wall time per phase, in order.</param>
/// <param name="History">Per-epoch losses of every phase, in order.</param>
/// <param name="WallTime">Wall time of the whole run.</param>
public sealed record PruningResult(Classifier Student, SparsityReport Sparsity, IReadOnlyList<PhaseTiming> Phases,
    IReadOnlyList<PruningEpoch> History, TimeSpan WallTime);
