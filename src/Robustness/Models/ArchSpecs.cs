namespace Robustness.Models;

/// <summary>
/// The zoo's CNNs and the model-parsing victim zoo's as <see cref="ArchSpec"/>s. The specs of ResNet-18, VGG and
/// WideResNet build networks with the same parameter names, shapes and (from the same seed) weights as the zoo's
/// <c>resnet18</c>, <c>vgg11</c>/<c>vgg16</c> and <c>wide-resnet</c>; the kernel size and activation vary them as the
/// victim zoo does (kernel 3/5/7, ReLU/tanh/ELU).
/// </summary>
public static class ArchSpecs
{
    /// <summary>CIFAR ResNet-18: 3x3 stem, four stages of two basic blocks (w, 2w, 4w, 8w; strides 1, 2, 2, 2).</summary>
    public static ArchSpec ResNet18(int width = Models.ResNet18.StandardWidth, int kernelSize = 3, ActivationKind activation = ActivationKind.Relu) =>
        Residual(width, [2, 2, 2, 2], kernelSize, activation);

    /// <summary>
    /// CIFAR ResNet-20 (He et al. 2016): 3x3 stem of w (16), three stages of three basic blocks (w, 2w, 4w; strides
    /// 1, 2, 2). Shortcuts where the shape changes are 1x1 projections with batch norm (option B), not zero padding.
    /// </summary>
    public static ArchSpec ResNet20(int width = 16, int kernelSize = 3, ActivationKind activation = ActivationKind.Relu) =>
        Residual(width, [3, 3, 3], kernelSize, activation);

    /// <summary>
    /// ResNet-9 as model parsing's victim zoo uses it (RED-adv's layout, after the DAWNBench network): a stem of w (64),
    /// a stride-2 conv to 2w, a residual pair at 2w, a conv to 4w and a 2x2 max-pool, a residual pair at 4w, a conv back
    /// to 2w, global pooling and the classifier. Its residual pairs are the library's basic block (activation after the
    /// sum, not after each conv) and the head averages rather than max-pools: the same depth, widths, strides and
    /// receptive fields, not RED-adv's parameter names.
    /// </summary>
    public static ArchSpec ResNet9(int width = 64, int kernelSize = 3, ActivationKind activation = ActivationKind.Relu) =>
        new ArchSpec(new StemSpec(width, kernelSize, 1, true, activation),
        [
            new(BlockKind.Plain, 2 * width, 1, kernelSize, 2, activation),
            new(BlockKind.Basic, 2 * width, 1, kernelSize, 1, activation),
            new(BlockKind.Plain, 4 * width, 1, kernelSize, 1, activation, PoolAfter: true),
            new(BlockKind.Basic, 4 * width, 1, kernelSize, 1, activation),
            new(BlockKind.Plain, 2 * width, 1, kernelSize, 1, activation),
        ]).Validate();

    /// <summary>CIFAR VGG with batch norm, depth 11, 13 or 16 (widths w, 2w, 4w, 8w, 8w; convs with bias; a max-pool after each of the five groups).</summary>
    public static ArchSpec Vgg(int depth, int width = Models.Vgg.StandardWidth, int kernelSize = 3, ActivationKind activation = ActivationKind.Relu)
    {
        int[] perGroup = depth switch
        {
            11 => [1, 1, 2, 2, 2],
            13 => [2, 2, 2, 2, 2],
            16 => [2, 2, 3, 3, 3],
            19 => [2, 2, 4, 4, 4],
            _ => throw new ArgumentOutOfRangeException(nameof(depth), depth, "VGG depth must be 11, 13, 16 or 19."),
        };
        int[] multipliers = [1, 2, 4, 8, 8];
        return new ArchSpec(null,
            [.. perGroup.Select((convs, g) => new StageSpec(BlockKind.Plain, multipliers[g] * width, convs, kernelSize, 1, activation, PoolAfter: true, Bias: true))],
            new HeadSpec(HeadPooling.Flatten)).Validate();
    }

    /// <summary>WideResNet-depth-k (depth 6n+4): bare 3x3 stem of w (16), three pre-activation stages of n blocks (wk, 2wk, 4wk; strides 1, 2, 2).</summary>
    public static ArchSpec WideResNet(int depth = Models.WideResNet.DefaultDepth, int widenFactor = Models.WideResNet.DefaultWidenFactor,
        int width = Models.WideResNet.StandardWidth, int kernelSize = 3, ActivationKind activation = ActivationKind.Relu)
    {
        if (depth < 10 || (depth - 4) % 6 != 0)
            throw new ArgumentOutOfRangeException(nameof(depth), depth, "WideResNet depth must be 6n+4 with n >= 1 (10, 16, 22, 28, 34, 40, ...).");
        int n = (depth - 4) / 6, k = widenFactor;
        return new ArchSpec(new StemSpec(width, Normalised: false),
        [
            new(BlockKind.PreActBasic, width * k, n, kernelSize, 1, activation),
            new(BlockKind.PreActBasic, 2 * width * k, n, kernelSize, 2, activation),
            new(BlockKind.PreActBasic, 4 * width * k, n, kernelSize, 2, activation),
        ]).Validate();
    }

    /// <summary>
    /// The spec that builds the same network (names, shapes, function) as the zoo model <paramref name="spec"/> describes:
    /// ResNet-18, VGG11/16 and WideResNet have one; null for the others. Spec-based tools (channel masks and slicing)
    /// work on a zoo model's weights through it.
    /// </summary>
    public static ArchSpec? Equivalent(ModelSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        static int Or(int value, int standard) => value == 0 ? standard : value;
        return spec.Architecture switch
        {
            SpecNetwork.FamilyName => ArchSpec.From(spec),
            Models.ResNet18.Name => ResNet18(Or(spec.Width, Models.ResNet18.StandardWidth)),
            Models.Vgg.Vgg11Name => Vgg(11, Or(spec.Width, Models.Vgg.StandardWidth)),
            Models.Vgg.Vgg16Name => Vgg(16, Or(spec.Width, Models.Vgg.StandardWidth)),
            Models.WideResNet.Name => WideResNet(Or(spec.Depth, Models.WideResNet.DefaultDepth), Or(spec.WidenFactor, Models.WideResNet.DefaultWidenFactor),
                Or(spec.Width, Models.WideResNet.StandardWidth)),
            _ => null,
        };
    }

    private static ArchSpec Residual(int width, int[] depths, int kernelSize, ActivationKind activation) =>
        new ArchSpec(new StemSpec(width, kernelSize, 1, true, activation),
            [.. depths.Select((depth, i) => new StageSpec(BlockKind.Basic, width << i, depth, kernelSize, i == 0 ? 1 : 2, activation))]).Validate();
}
