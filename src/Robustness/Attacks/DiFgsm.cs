using Robustness.Validation;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Robustness.Attacks;

/// <summary>
/// Options of <see cref="DiFgsm"/>, with torchattacks' DIFGSM defaults: eps = 8/255, step size 2/255, 10 steps,
/// decay 0 (DI2-FGSM; set <see cref="Decay"/> = 1 for M-DI2-FGSM), diversity probability 0.5, no random start. The
/// resize rate is Xie et al.'s 1.1 (299 -> [299, 330)), growing the image, where torchattacks shrinks it (0.9).
/// </summary>
public sealed record DiFgsmOptions : GradientAttackOptions
{
    /// <summary>Number of iterations (>= 1).</summary>
    public int Steps { get; init; } = 10;

    /// <summary>Step size on the [0,1] scale (> 0); for l2 the length of each step.</summary>
    public double StepSize { get; init; } = 2.0 / 255.0;

    /// <summary>Momentum decay factor mu (>= 0); 0 = DI2-FGSM, 1 = M-DI2-FGSM.</summary>
    public double Decay { get; init; }

    /// <summary>Largest resize factor, in (1, 2]: an H-pixel image is resized to H..ceil(H * rate) - 1 pixels.</summary>
    public double ResizeRate { get; init; } = 1.1;

    /// <summary>Probability, in [0, 1], that a step's gradient is taken through the random transform.</summary>
    public double DiversityProbability { get; init; } = 0.5;

    /// <summary>Start from a uniformly random point of the budget ball instead of the clean image.</summary>
    public bool RandomStart { get; init; }

    /// <inheritdoc />
    public override DiFgsmOptions Validate()
    {
        base.Validate();
        if (Norm == Norm.L1) throw new ArgumentOutOfRangeException(nameof(Norm), Norm, "DI-FGSM supports Linf and L2.");
        Require.AtLeast(Steps, 1, nameof(Steps));
        Require.Positive(StepSize, nameof(StepSize));
        Require.InRange(Decay, 0, double.PositiveInfinity, nameof(Decay));
        if (double.IsNaN(ResizeRate) || ResizeRate <= 1 || ResizeRate > 2)
            throw new ArgumentOutOfRangeException(nameof(ResizeRate), ResizeRate, "ResizeRate must be a number in (1, 2].");
        Require.InRange(DiversityProbability, 0, 1, nameof(DiversityProbability));
        return this;
    }
}

/// <summary>
/// Diverse-Inputs Iterative FGSM (Xie et al., "Improving Transferability of Adversarial Examples with Input
/// Diversity", CVPR 2019): the momentum iteration of <see cref="MiFgsm"/>, but with probability p each step's
/// gradient is taken through a random transform T of the whole batch, which makes the perturbation transfer better
/// to other models. T, for images of H x W pixels and K = max(1, ceil(min(H, W) * (rate - 1))): resize (bilinear)
/// to (H + k) x (W + k) with k uniform in {0, ..., K-1}; pad with zeros at a uniformly random offset to
/// (H + K) x (W + K); resize (bilinear) back to H x W, so any classifier accepts it (Xie et al. fed the padded
/// 330-pixel image to Inception directly). For 32 x 32 images: resized to 32..35, padded to 36, back to 32.
/// Each step draws four numbers from the seeded generator whether or not it applies T. With p = 0 the attack is
/// exactly <see cref="MiFgsm"/> with the same settings (and with decay 0 exactly <see cref="Bim"/>).
/// </summary>
public sealed class DiFgsm : Attack<DiFgsmOptions>
{
    /// <summary>Creates the attack; invalid options raise <see cref="ArgumentOutOfRangeException"/>.</summary>
    public DiFgsm(DiFgsmOptions? options = null) : base("difgsm", options ?? new DiFgsmOptions()) { }

    /// <summary>The catalogue entry: reads Epsilon, Norm (linf, l2), Steps, StepSize, Target and Seed.</summary>
    public static AttackDefinition Definition { get; } = new(
        "difgsm", "Diverse-Inputs iterative FGSM, with optional momentum (Xie et al., CVPR 2019)",
        [Norm.Linf, Norm.L2], IsBlackBox: false, IsMinimumNorm: false, SupportsTargets: true,
        s => new DiFgsm(new DiFgsmOptions
        {
            Epsilon = s.EpsilonOrDefault, Norm = s.Norm, Steps = s.Steps ?? 10, StepSize = s.StepSize ?? 2.0 / 255.0,
            Target = s.Target, Seed = s.Seed,
        }))
    {
        Reads = [nameof(AttackSettings.Epsilon), nameof(AttackSettings.Norm), nameof(AttackSettings.Steps), nameof(AttackSettings.StepSize), nameof(AttackSettings.Target), nameof(AttackSettings.Seed)],
    };

    /// <inheritdoc />
    protected override Tensor Perturb(AttackContext context)
    {
        var generator = context.Generator;
        double probability = Options.DiversityProbability, rate = Options.ResizeRate;
        return MiFgsm.Iterate(context, Options.Norm, Options.Epsilon, Options.StepSize, Options.Steps, Options.Decay,
            images => Diversify(images, generator, probability, rate), Options.RandomStart);
    }

    /// <summary>
    /// The input-diversity transform: T(images) (see the class) with probability <paramref name="probability"/>, else
    /// the images themselves; one transform for the whole batch, drawn from <paramref name="generator"/>. Differentiable.
    /// </summary>
    public static Tensor Diversify(Tensor images, Generator generator, double probability, double rate)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(generator);
        // One draw of four uniforms per call (a host read per step, not per image): apply?, k, top, left.
        var u = torch.rand([4], generator: generator, dtype: ScalarType.Float64).data<double>().ToArray();
        if (u[0] >= probability) return images;
        long h = images.shape[2], w = images.shape[3];
        long room = Math.Max(1, (long)Math.Ceiling(Math.Min(h, w) * (rate - 1) - 1e-9));
        long k = Math.Min(room - 1, (long)(u[1] * room));
        long slack = room - k;
        long top = Math.Min(slack, (long)(u[2] * (slack + 1))), left = Math.Min(slack, (long)(u[3] * (slack + 1)));
        var resized = F.interpolate(images, [h + k, w + k], mode: InterpolationMode.Bilinear, align_corners: false);
        var padded = F.pad(resized, [left, slack - left, top, slack - top], PaddingModes.Constant, 0.0);
        return F.interpolate(padded, [h, w], mode: InterpolationMode.Bilinear, align_corners: false);
    }
}
