using System.Globalization;
using Robustness.Models;
using Robustness.Validation;

namespace Robustness.Forensics;

/// <summary>The attributes model parsing recovers from an attack: what the victim model was.</summary>
/// <param name="Architecture">One of <see cref="VictimArchitectures.Names"/>.</param>
/// <param name="KernelSize">Kernel size of every convolution (3, 5 or 7 in the paper's grid).</param>
/// <param name="Activation">Activation of every layer (ReLU, tanh or ELU in the paper's grid).</param>
/// <param name="Sparsity">Share of the convolution weights removed by one-shot global magnitude pruning (0, 0.375 or 0.625).</param>
public sealed record VictimAttributes(string Architecture, int KernelSize, ActivationKind Activation, double Sparsity)
{
    /// <summary>A file-name-safe id, e.g. <c>resnet20-k5-tanh-s375</c> (sparsity in thousandths).</summary>
    public string Id => string.Create(CultureInfo.InvariantCulture,
        $"{Architecture}-k{KernelSize}-{Activation.ToString().ToLowerInvariant()}-s{(int)Math.Round(Sparsity * 1000)}");

    /// <summary>The dense network the victim is pruned from (every attribute but the sparsity), e.g. <c>resnet20-k5-tanh</c>.</summary>
    public string DenseId => string.Create(CultureInfo.InvariantCulture, $"{Architecture}-k{KernelSize}-{Activation.ToString().ToLowerInvariant()}");
}

/// <summary>
/// The victim architectures of model parsing (RED-adv): ResNet-9, ResNet-20, ResNet-18, VGG-11 and VGG-13, each as an
/// <see cref="ArchSpec"/> with the kernel size and activation as parameters.
/// </summary>
public static class VictimArchitectures
{
    /// <summary>The architecture names, in the paper's order.</summary>
    public static IReadOnlyList<string> Names { get; } = ["resnet9", "resnet20", "resnet18", "vgg11", "vgg13"];

    /// <summary>The spec of <paramref name="architecture"/> at <paramref name="width"/> (the first stage's channels).</summary>
    public static ArchSpec Spec(string architecture, int width, int kernelSize, ActivationKind activation) => architecture switch
    {
        "resnet9" => ArchSpecs.ResNet9(width, kernelSize, activation),
        "resnet20" => ArchSpecs.ResNet20(width, kernelSize, activation),
        "resnet18" => ArchSpecs.ResNet18(width, kernelSize, activation),
        "vgg11" => ArchSpecs.Vgg(11, width, kernelSize, activation),
        "vgg13" => ArchSpecs.Vgg(13, width, kernelSize, activation),
        _ => throw new ArgumentOutOfRangeException(nameof(architecture), architecture, $"Victim architectures are {string.Join(", ", Names)}."),
    };
}

/// <summary>
/// Which victims to train and how: the attribute values (every combination is one victim), the width of each
/// architecture, and the training recipe (RED-adv's one-shot magnitude pruning: train dense, prune the convolutions by
/// one global magnitude threshold, rewind the kept weights to an early epoch, retrain with the mask).
/// </summary>
public sealed record VictimGrid
{
    /// <summary>The preset's name (<c>full</c>, <c>cpu</c>) or <c>custom</c>.</summary>
    public string Name { get; init; } = "custom";

    /// <summary>Architectures (from <see cref="VictimArchitectures.Names"/>) and the width each is built at.</summary>
    public IReadOnlyDictionary<string, int> Widths { get; init; } = new Dictionary<string, int>();

    /// <summary>Kernel sizes.</summary>
    public IReadOnlyList<int> KernelSizes { get; init; } = [3, 5, 7];

    /// <summary>Activations.</summary>
    public IReadOnlyList<ActivationKind> Activations { get; init; } = [ActivationKind.Relu, ActivationKind.Tanh, ActivationKind.Elu];

    /// <summary>Weight sparsities of the convolutions.</summary>
    public IReadOnlyList<double> Sparsities { get; init; } = [0, 0.375, 0.625];

    /// <summary>Epochs of dense training.</summary>
    public int Epochs { get; init; } = 75;

    /// <summary>Epochs of masked retraining after pruning (the sparsity-0 victims retrain too, so every victim has the same history).</summary>
    public int RetrainEpochs { get; init; } = 75;

    /// <summary>The epoch whose weights the pruned network rewinds to (the weights after this many dense epochs; 0 = the initial weights).</summary>
    public int RewindEpoch { get; init; } = 2;

    /// <summary>Peak learning rate of both phases (SGD, momentum 0.9, weight decay 5e-4, cosine decay).</summary>
    public double LearningRate { get; init; } = 0.1;

    /// <summary>Images per step.</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>
    /// RED-adv's grid: the five architectures at their usual CIFAR widths (ResNet-9 64, ResNet-20 16, ResNet-18 64,
    /// VGG 64), kernel 3/5/7, ReLU/tanh/ELU, sparsity 0/37.5/62.5%: 135 victims, 75 + 75 epochs with rewinding to epoch
    /// 2 (RED-adv's defaults; batch 128 rather than its 256). A GPU's work.
    /// </summary>
    public static VictimGrid Full { get; } = new()
    {
        Name = "full",
        Widths = new Dictionary<string, int> { ["resnet9"] = 64, ["resnet20"] = 16, ["resnet18"] = 64, ["vgg11"] = 64, ["vgg13"] = 64 },
    };

    /// <summary>
    /// The grid reduced for two CPU cores while keeping every attribute value (all 135 victims): narrower networks
    /// (ResNet-9, ResNet-18 and VGG at width 16; ResNet-20 at its own 16) and 6 + 6 epochs with rewinding to epoch 1.
    /// Use it with a class-balanced subset of the training images (the command's --per-class).
    /// </summary>
    public static VictimGrid Cpu { get; } = new()
    {
        Name = "cpu",
        Widths = new Dictionary<string, int> { ["resnet9"] = 16, ["resnet20"] = 16, ["resnet18"] = 16, ["vgg11"] = 16, ["vgg13"] = 16 },
        Epochs = 6,
        RetrainEpochs = 6,
        RewindEpoch = 1,
    };

    /// <summary>The preset called <paramref name="name"/> (<c>full</c> or <c>cpu</c>).</summary>
    public static VictimGrid Preset(string name) => name switch
    {
        "full" => Full,
        "cpu" => Cpu,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "The victim grids are 'full' and 'cpu'."),
    };

    /// <summary>Every victim of the grid, dense networks together (architecture, kernel, activation, then sparsity).</summary>
    public IReadOnlyList<VictimAttributes> Victims() =>
        [.. from a in Widths.Keys from k in KernelSizes from f in Activations from s in Sparsities select new VictimAttributes(a, k, f, s)];

    /// <summary>
    /// A balanced third of a grid whose kernel sizes, activations and sparsities have the same number of values n: for
    /// each architecture, kernel size and activation, the one sparsity at position (architecture + kernel + activation)
    /// mod n. Every attribute value appears equally often and every pair of values of two attributes occurs together
    /// (a Latin square per architecture), so a parser still has to tell every value of every attribute apart; what is
    /// lost is the three sparsities pruned from one dense network side by side. The positions are those of the values
    /// present in <paramref name="victims"/> (architectures in <see cref="VictimArchitectures.Names"/> order, the rest
    /// sorted), so the same fraction is picked from a whole grid and from a zoo that holds more than the fraction.
    /// </summary>
    public static IReadOnlyList<T> LatinFraction<T>(IReadOnlyList<T> victims, Func<T, VictimAttributes> attributes)
    {
        ArgumentNullException.ThrowIfNull(victims);
        ArgumentNullException.ThrowIfNull(attributes);
        var all = victims.Select(attributes).ToArray();
        var architectures = all.Select(v => v.Architecture).Distinct().OrderBy(a => VictimArchitectures.Names.ToList().IndexOf(a)).ThenBy(a => a, StringComparer.Ordinal).ToList();
        var kernels = all.Select(v => v.KernelSize).Distinct().Order().ToList();
        var activations = all.Select(v => v.Activation).Distinct().Order().ToList();
        var sparsities = all.Select(v => v.Sparsity).Distinct().Order().ToList();
        int n = sparsities.Count;
        if (kernels.Count != n || activations.Count != n)
            throw new ArgumentException($"A Latin fraction needs as many kernel sizes, activations and sparsities; these victims have {kernels.Count}, {activations.Count} and {n}.", nameof(victims));
        return [.. victims.Where(v =>
        {
            var a = attributes(v);
            int position = (architectures.IndexOf(a.Architecture) + kernels.IndexOf(a.KernelSize) + activations.IndexOf(a.Activation)) % n;
            return sparsities.IndexOf(a.Sparsity) == position;
        })];
    }

    /// <summary>The spec of <paramref name="victim"/>'s network.</summary>
    public ArchSpec SpecOf(VictimAttributes victim)
    {
        ArgumentNullException.ThrowIfNull(victim);
        return VictimArchitectures.Spec(victim.Architecture, Widths[victim.Architecture], victim.KernelSize, victim.Activation);
    }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first setting out of range.</summary>
    public VictimGrid Validate()
    {
        if (Widths is null || Widths.Count == 0) throw new ArgumentOutOfRangeException(nameof(Widths), "The grid needs at least one architecture.");
        foreach (var (architecture, width) in Widths)
        {
            if (!VictimArchitectures.Names.Contains(architecture))
                throw new ArgumentOutOfRangeException(nameof(Widths), architecture, $"Victim architectures are {string.Join(", ", VictimArchitectures.Names)}.");
            Require.AtLeast(width, 1, nameof(Widths));
        }
        if (KernelSizes is null || KernelSizes.Count == 0 || KernelSizes.Any(k => k < 1 || k % 2 == 0))
            throw new ArgumentOutOfRangeException(nameof(KernelSizes), KernelSizes is null ? null : string.Join(",", KernelSizes), "Kernel sizes must be odd and at least 1.");
        if (Activations is null || Activations.Count == 0) throw new ArgumentOutOfRangeException(nameof(Activations), "The grid needs at least one activation.");
        if (Sparsities is null || Sparsities.Count == 0 || Sparsities.Any(s => !(s >= 0 && s < 1)))
            throw new ArgumentOutOfRangeException(nameof(Sparsities), Sparsities is null ? null : string.Join(",", Sparsities), "Sparsities must be in [0, 1).");
        Require.AtLeast(Epochs, 1, nameof(Epochs));
        Require.AtLeast(RetrainEpochs, 1, nameof(RetrainEpochs));
        if (RewindEpoch < 0 || RewindEpoch > Epochs)
            throw new ArgumentOutOfRangeException(nameof(RewindEpoch), RewindEpoch, $"RewindEpoch must be in [0, Epochs ({Epochs})].");
        Require.Positive(LearningRate, nameof(LearningRate));
        Require.BatchSize(BatchSize, nameof(BatchSize));
        return this;
    }
}
