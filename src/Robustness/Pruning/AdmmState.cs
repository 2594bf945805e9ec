using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Pruning;

/// <summary>
/// The ADMM variables of the pruned weights: Z (the sparse copy, Z = Pi_p(...)) and the scaled dual U, one pair per
/// weight, and the penalty sum_l (rho/2) ||W_l - Z_l + U_l||_F^2 that pulls W towards Z. Owns Z and U.
/// </summary>
internal sealed class AdmmState : IDisposable
{
    private readonly IReadOnlyList<PrunableParameter> _parameters;
    private readonly double _sparsity;
    private readonly Tensor[] _z;
    private readonly Tensor[] _u;

    public AdmmState(IReadOnlyList<PrunableParameter> parameters, double sparsity)
    {
        _parameters = parameters;
        _sparsity = sparsity;
        _z = new Tensor[parameters.Count];
        _u = new Tensor[parameters.Count];
        using var _ = torch.no_grad();
        for (int i = 0; i < parameters.Count; i++)
        {
            _u[i] = torch.zeros_like(parameters[i].Weight).DetachFromDisposeScope();
            _z[i] = MagnitudeProjection.Project(parameters[i].Weight, sparsity).DetachFromDisposeScope();
        }
    }

    /// <summary>rho of the current epoch.</summary>
    public double Rho { get; private set; }

    /// <summary>
    /// Start of an epoch: Z = Pi(W) (the public code re-projects every epoch); at an update epoch instead the dual
    /// step Z = Pi(W + U), U = U + W - Z with the grown rho.
    /// </summary>
    public void BeginEpoch(int epoch, AdmmSchedule schedule)
    {
        Rho = schedule.Rho(epoch);
        bool update = schedule.IsUpdateEpoch(epoch);
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        for (int i = 0; i < _parameters.Count; i++)
        {
            var w = _parameters[i].Weight.detach();
            var z = update ? MagnitudeProjection.Project(w + _u[i], _sparsity) : MagnitudeProjection.Project(w, _sparsity);
            _z[i].copy_(z);
            if (update) _u[i].add_(w - _z[i]);
        }
    }

    /// <summary>sum_l (rho/2) ||W_l - Z_l + U_l||^2, differentiable in W.</summary>
    public Tensor Penalty()
    {
        using var scope = torch.NewDisposeScope();
        Tensor? total = null;
        for (int i = 0; i < _parameters.Count; i++)
        {
            var term = (_parameters[i].Weight - _z[i] + _u[i]).pow(2).sum();
            total = total is null ? term : total + term;
        }
        return (total ?? torch.zeros(Array.Empty<long>())).mul(Rho / 2).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        foreach (var t in _z) t?.Dispose();
        foreach (var t in _u) t?.Dispose();
    }
}
