using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Robustness.Models;

/// <summary>
/// Counts the multiply-accumulates of one forward pass by running the network once on a blank image and summing
/// its convolutions (output elements x input channels per group x kernel area) and linear layers (output elements
/// x input features), the convention of fvcore/thop. Batch norm, activations, pooling and additions are not counted
/// (they are a few percent of a CNN); a family whose cost lies elsewhere overrides <see cref="ModelFamily.Macs"/>.
/// </summary>
public static class MacCounter
{
    /// <summary>MACs of one forward pass of <paramref name="network"/> on one image of <paramref name="spec"/>'s size.</summary>
    public static long Count(Module<Tensor, Tensor> network, ModelSpec spec)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(spec);
        long total = 0;
        var removers = new List<Action>();
        bool wasTraining = network.training;
        try
        {
            foreach (var (_, module) in network.named_modules())
            {
                if (module is Convolution or TorchSharp.Modules.Linear && module is Module<Tensor, Tensor> layer)
                {
                    var hook = layer.register_forward_hook((m, _, output) =>
                    {
                        var weight = ((Module)m).get_parameter("weight")
                            ?? throw new InvalidOperationException($"{m.GetType().Name} has no weight parameter.");
                        // Conv weight [out, in/groups, kh, kw] and linear weight [out, in]: every output element costs
                        // one multiply-accumulate per weight in its row.
                        long perOutput = weight.numel() / weight.shape[0];
                        total += output.numel() * perOutput;
                        return null!;
                    });
                    removers.Add(hook.remove);
                }
            }
            network.eval();
            using var scope = torch.NewDisposeScope();
            using var _ = torch.no_grad();
            var device = network.parameters().FirstOrDefault()?.device ?? torch.CPU;
            var input = torch.zeros([1, spec.InputChannels, spec.ImageSize, spec.ImageSize], device: device);
            network.forward(input);
            return total;
        }
        finally
        {
            foreach (var remove in removers) remove();
            if (wasTraining) network.train();
        }
    }
}
