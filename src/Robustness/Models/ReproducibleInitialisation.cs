using Robustness.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Robustness.Models;

/// <summary>
/// A network that can redraw all its initial weights from a given generator. TorchSharp's layers initialise
/// themselves from the one process-wide generator, so "seed, then build" is only reproducible while no other
/// thread draws random numbers at the same time; <see cref="Classifier.Create"/> therefore redraws the weights
/// of networks implementing this interface from a private generator seeded with the requested seed.
/// </summary>
public interface IReproducibleInitialisation
{
    /// <summary>Re-initialises every parameter and buffer, drawing random values only from <paramref name="generator"/>.</summary>
    void ResetParameters(Generator generator);
}

/// <summary>PyTorch's default initialisation, drawn from an explicit generator.</summary>
public static class DefaultInitialisation
{
    /// <summary>
    /// Resets every Conv2d and Linear in <paramref name="network"/> the way PyTorch does by default (weights and
    /// biases uniform in ±1/sqrt(fan_in), i.e. kaiming_uniform with a = sqrt(5)) and every BatchNorm2d to weight 1,
    /// bias 0, running mean 0, running variance 1, no batches tracked.
    /// </summary>
    public static void Reset(Module network, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(generator);
        using var _ = torch.no_grad();
        foreach (var module in network.modules())
        {
            switch (module)
            {
                case Conv2d conv:
                    Uniform(conv.weight, conv.bias, conv.weight.shape.Skip(1).Aggregate(1L, (a, b) => a * b), generator);
                    break;
                case Linear linear:
                    Uniform(linear.weight, linear.bias, linear.weight.shape[1], generator);
                    break;
                case BatchNorm2d norm:
                    norm.weight?.fill_(Scalars.One);
                    norm.bias?.zero_();
                    norm.running_mean?.zero_();
                    norm.running_var?.fill_(Scalars.One);
                    norm.num_batches_tracked?.zero_();
                    break;
            }
        }
    }

    private static void Uniform(Tensor? weight, Tensor? bias, long fanIn, Generator generator)
    {
        double bound = 1.0 / Math.Sqrt(Math.Max(1, fanIn));
        // Tensor.uniform_, not nn.init.uniform_: in TorchSharp 0.107 the init functions ignore their generator.
        weight?.uniform_(-bound, bound, generator);
        bias?.uniform_(-bound, bound, generator);
    }
}
