using Robustness.Validation;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Robustness.Forensics;

/// <summary>
/// DnCNN (Zhang et al., 2017), as RED-adv uses it to estimate the perturbation when the clean image is unknown: a
/// first conv with ReLU, <c>depth - 2</c> conv + batch norm + ReLU layers, a last conv, all 3x3 at <c>width</c> channels;
/// the network predicts the residual and returns <c>x - residual</c> (the denoised image), so x' - D(x') is the residual,
/// the estimated perturbation. Orthogonal initialisation, last layer at zero (the denoiser starts as the identity).
/// </summary>
public sealed class DnCnn : Module<Tensor, Tensor>
{
    private readonly Sequential layers;

    /// <summary>A DnCNN of <paramref name="depth"/> convolutions (at least 2) of <paramref name="width"/> channels on <paramref name="channels"/>-channel images.</summary>
    public DnCnn(int depth = 17, int width = 64, int channels = 3) : base(nameof(DnCnn))
    {
        Require.AtLeast(depth, 2, nameof(depth));
        Require.AtLeast(width, 1, nameof(width));
        var list = new List<(string, Module<Tensor, Tensor>)> { ("conv0", Conv2d(channels, width, 3, padding: 1, bias: true)), ("relu0", ReLU()) };
        for (int i = 1; i < depth - 1; i++)
        {
            list.Add(($"conv{i}", Conv2d(width, width, 3, padding: 1, bias: false)));
            list.Add(($"bn{i}", BatchNorm2d(width, eps: 1e-4, momentum: 0.95)));
            list.Add(($"relu{i}", ReLU()));
        }
        list.Add(($"conv{depth - 1}", Conv2d(width, channels, 3, padding: 1, bias: false)));
        layers = Sequential(list);
        RegisterComponents();
        using var noGrad = torch.no_grad();
        Conv2d? last = null;
        foreach (var module in layers.children())
            if (module is Conv2d conv)
            {
                init.orthogonal_(conv.weight);
                if (conv.bias is not null) init.zeros_(conv.bias);
                last = conv;
            }
        init.zeros_(last!.weight);
    }

    /// <summary>The denoised image x - residual(x).</summary>
    public override Tensor forward(Tensor input)
    {
        using var residual = layers.call(input);
        return input.sub(residual);
    }

    /// <summary>The estimated perturbation x - D(x) (the residual), without gradients, in batches.</summary>
    public Tensor Residual(Tensor adversarial, int batchSize = 256)
    {
        ArgumentNullException.ThrowIfNull(adversarial);
        bool training = this.training;
        eval();
        try
        {
            using var noGrad = torch.no_grad();
            using var scope = torch.NewDisposeScope();
            var parts = new List<Tensor>();
            for (long start = 0; start < adversarial.shape[0]; start += batchSize)
                parts.Add(layers.call(adversarial.narrow(0, start, Math.Min(batchSize, adversarial.shape[0] - start))));
            return torch.cat(parts).MoveToOuterDisposeScope();
        }
        finally
        {
            train(training);
        }
    }
}

/// <summary>How the denoiser is trained (RED-adv's pretraining: SGD lr 0.01, cosine, 20 epochs, l1 loss on the perturbation).</summary>
public sealed record DenoiserOptions
{
    /// <summary>Convolutions (RED-adv: 17).</summary>
    public int Depth { get; init; } = 17;

    /// <summary>Channels (RED-adv: 64).</summary>
    public int Width { get; init; } = 64;

    /// <summary>Epochs.</summary>
    public int Epochs { get; init; } = 20;

    /// <summary>Peak learning rate (SGD with momentum 0.9, cosine decay).</summary>
    public double LearningRate { get; init; } = 0.01;

    /// <summary>Examples per step.</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>Seed.</summary>
    public int Seed { get; init; }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first setting out of range.</summary>
    public DenoiserOptions Validate()
    {
        Require.AtLeast(Depth, 2, nameof(Depth));
        Require.AtLeast(Width, 1, nameof(Width));
        Require.AtLeast(Epochs, 1, nameof(Epochs));
        Require.Positive(LearningRate, nameof(LearningRate));
        Require.BatchSize(BatchSize, nameof(BatchSize));
        return this;
    }

    /// <summary>
    /// Trains a denoiser on the records of <paramref name="records"/> on <paramref name="images"/> (every attack and victim):
    /// their adversarial images against their true perturbations.
    /// </summary>
    public DnCnn Train(AttackRecordSet records, AttributeSchema schema, IReadOnlyList<int> images, bool successfulOnly,
        IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        using var adversarial = ParsingData.From(records, schema, _ => true, images, ParsingInput.Adversarial, successfulOnly);
        using var perturbations = ParsingData.From(records, schema, _ => true, images, ParsingInput.Perturbation, successfulOnly);
        progress?.Report($"training the denoiser ({adversarial.Count:N0} examples)");
        return Train(adversarial.Inputs, perturbations.Inputs, cancellationToken: cancellationToken);
    }

    /// <summary>Trains a denoiser so that x' - D(x') matches the true perturbation (mean absolute error) on <paramref name="adversarial"/> / <paramref name="perturbations"/>.</summary>
    public DnCnn Train(Tensor adversarial, Tensor perturbations, IProgress<(int Epoch, double L1, TimeSpan Duration)>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(adversarial);
        ArgumentNullException.ThrowIfNull(perturbations);
        if (!adversarial.shape.SequenceEqual(perturbations.shape)) throw new ArgumentException("The adversarial images and their perturbations differ in shape.", nameof(perturbations));
        Validate();
        torch.random.manual_seed(Seed);
        var denoiser = new DnCnn(Depth, Width, (int)adversarial.shape[1]);
        denoiser.train();
        CosineSgd.Train(denoiser.parameters(), (int)adversarial.shape[0], Epochs, BatchSize, LearningRate, 0, Seed, rows =>
        {
            var x = adversarial.index_select(0, rows);
            return torch.nn.functional.l1_loss(x.sub(denoiser.call(x)), perturbations.index_select(0, rows));
        }, progress, cancellationToken);
        denoiser.eval();
        return denoiser;
    }
}
