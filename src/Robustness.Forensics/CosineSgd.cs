using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Forensics;

/// <summary>
/// The loop the parser and the denoiser train with (RED-adv trains both so): shuffled mini-batches of in-memory
/// examples, SGD with momentum 0.9 whose learning rate follows a per-step cosine from the peak to zero.
/// </summary>
internal static class CosineSgd
{
    /// <summary>
    /// Trains <paramref name="parameters"/> for <paramref name="epochs"/> over <paramref name="count"/> examples;
    /// <paramref name="loss"/> gets a batch's row indices (int64) and returns its mean loss. Reports each epoch's mean loss.
    /// </summary>
    public static void Train(IEnumerable<TorchSharp.Modules.Parameter> parameters, int count, int epochs, int batchSize, double peak, double weightDecay, int seed,
        Func<Tensor, Tensor> loss, IProgress<(int Epoch, double Loss, TimeSpan Duration)>? progress, CancellationToken cancellationToken)
    {
        var random = new Random(seed);
        int batches = (count + batchSize - 1) / batchSize;
        using var optimizer = torch.optim.SGD(parameters, peak, 0.9, 0, weightDecay);
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            var order = Enumerable.Range(0, count).ToArray();
            random.Shuffle(order);
            double total = 0;
            for (int b = 0; b < batches; b++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = torch.NewDisposeScope();
                foreach (var group in optimizer.ParamGroups)
                    group.LearningRate = 0.5 * peak * (1 + Math.Cos(Math.PI * (epoch + (double)b / batches) / epochs));
                var rows = torch.tensor(order.Skip(b * batchSize).Take(batchSize).Select(i => (long)i).ToArray());
                var value = loss(rows);
                optimizer.zero_grad();
                // A diverged run must not pass for "no better than chance": its network names one value for everything.
                double batchLoss = value.item<float>();
                if (!double.IsFinite(batchLoss))
                    throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                        $"Training diverged: the loss is {batchLoss} at epoch {epoch + 1}, step {b + 1} of {batches} (peak learning rate {peak}). Lower the learning rate or raise the batch size."));
                value.backward();
                optimizer.step();
                total += batchLoss * rows.shape[0];
            }
            progress?.Report((epoch, total / count, clock.Elapsed));
        }
    }
}
