using Robustness.Validation;
using System.Globalization;

namespace Robustness.Pruning;

/// <summary>
/// PwoA's ADMM schedule, in 0-based epochs. Epochs run in cycles of <see cref="CycleEpochs"/>; at the start of every
/// cycle but the first (epochs 3, 6, ..., 48 for 3-epoch cycles: the paper's epochs 4, 7, ..., 49, 16 updates in 50
/// epochs) rho grows by <see cref="RhoGrowth"/> up to <see cref="MaxRho"/> and the dual update runs
/// (Z = Pi(W + U), U = U + W - Z). Within a cycle the learning rate steps down by ten per epoch: lr, lr/10, lr/100.
/// Defaults: rho 0.01, x1.35, capped at 1 (reached at the 16th update: 0.01 * 1.35^16 = 1.22).
/// </summary>
/// <param name="InitialRho">rho in the first cycle (&gt; 0).</param>
/// <param name="RhoGrowth">Factor applied at each update (&gt;= 1).</param>
/// <param name="MaxRho">Cap on rho (&gt;= InitialRho).</param>
/// <param name="CycleEpochs">Epochs per cycle (&gt;= 1).</param>
public sealed record AdmmSchedule(double InitialRho = 0.01, double RhoGrowth = 1.35, double MaxRho = 1.0, int CycleEpochs = 3)
{
    /// <summary>True when the rho and dual update runs at the start of <paramref name="epoch"/>.</summary>
    public bool IsUpdateEpoch(int epoch)
    {
        CheckEpoch(epoch);
        return epoch > 0 && epoch % CycleEpochs == 0;
    }

    /// <summary>Updates that have run by the start of <paramref name="epoch"/> (its own included).</summary>
    public int UpdatesThrough(int epoch)
    {
        CheckEpoch(epoch);
        return epoch / CycleEpochs;
    }

    /// <summary>The epochs, of a run of <paramref name="epochs"/>, whose start runs an update.</summary>
    public IReadOnlyList<int> UpdateEpochs(int epochs)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epochs);
        return Enumerable.Range(0, epochs).Where(IsUpdateEpoch).ToArray();
    }

    /// <summary>rho during <paramref name="epoch"/>: min(MaxRho, InitialRho * RhoGrowth^updates).</summary>
    public double Rho(int epoch) => Math.Min(MaxRho, InitialRho * Math.Pow(RhoGrowth, UpdatesThrough(epoch)));

    /// <summary>The learning rate of <paramref name="epoch"/> relative to the base: 10^-(position in its cycle).</summary>
    public double LearningRateFactor(int epoch)
    {
        CheckEpoch(epoch);
        return Math.Pow(10, -(epoch % CycleEpochs));
    }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first value out of range.</summary>
    public AdmmSchedule Validate()
    {
        Require.Positive(InitialRho, nameof(InitialRho));
        if (!(RhoGrowth >= 1) || !double.IsFinite(RhoGrowth)) throw new ArgumentOutOfRangeException(nameof(RhoGrowth), RhoGrowth, "RhoGrowth must be a finite number >= 1.");
        if (!(MaxRho >= InitialRho) || !double.IsFinite(MaxRho)) throw new ArgumentOutOfRangeException(nameof(MaxRho), MaxRho, $"MaxRho must be a finite number >= InitialRho ({InitialRho}).");
        Require.AtLeast(CycleEpochs, 1, nameof(CycleEpochs));
        return this;
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"admm(rho {InitialRho} x{RhoGrowth} every {CycleEpochs} epochs, max {MaxRho})");

    private void CheckEpoch(int epoch)
    {
        Validate();
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
    }
}
