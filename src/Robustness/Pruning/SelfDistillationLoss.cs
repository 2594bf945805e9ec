using Robustness.Validation;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Robustness.Pruning;

/// <summary>
/// PwoA's self-distillation term: alpha * T^2 * KL(teacher || student), with softmax at temperature T on both sides
/// and the KL divergence averaged over all B*C elements (PyTorch's <c>KLDivLoss(reduction='mean')</c>, which is what
/// the reference code uses, not 'batchmean'). The teacher's logits are detached. Defaults T = 30, alpha = 10
/// (MNIST, CIFAR-10; CIFAR-100 uses alpha = 100). Check: B=1, C=2, student (0,0), teacher (30 ln 3, 0) gives 588.654.
/// </summary>
public sealed class SelfDistillationLoss
{
    /// <summary>PwoA's temperature.</summary>
    public const double DefaultTemperature = 30;

    /// <summary>PwoA's weight for MNIST and CIFAR-10.</summary>
    public const double DefaultAlpha = 10;

    /// <summary>Creates the loss; temperature must be &gt; 0 and alpha &gt;= 0.</summary>
    public SelfDistillationLoss(double temperature = DefaultTemperature, double alpha = DefaultAlpha)
    {
        Require.Positive(temperature, nameof(temperature));
        if (!(alpha >= 0) || !double.IsFinite(alpha))
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha must be a finite number >= 0.");
        Temperature = temperature;
        Alpha = alpha;
    }

    /// <summary>Softmax temperature T on both sides.</summary>
    public double Temperature { get; }

    /// <summary>Weight alpha of the term.</summary>
    public double Alpha { get; }

    /// <summary>The scalar loss for logits [B, C] of the student and the teacher.</summary>
    public Tensor Compute(Tensor studentLogits, Tensor teacherLogits)
    {
        ArgumentNullException.ThrowIfNull(studentLogits);
        ArgumentNullException.ThrowIfNull(teacherLogits);
        if (studentLogits.dim() != 2 || !studentLogits.shape.SequenceEqual(teacherLogits.shape))
            throw new ArgumentException($"Logits must both be [B, C]; got student [{string.Join(", ", studentLogits.shape)}], teacher [{string.Join(", ", teacherLogits.shape)}].", nameof(teacherLogits));
        using var scope = torch.NewDisposeScope();
        using Scalar temperature = Temperature.ToScalar(), weight = (Alpha * Temperature * Temperature).ToScalar();
        var logStudent = F.log_softmax(studentLogits.div(temperature), 1);
        var logTeacher = F.log_softmax(teacherLogits.detach().div(temperature), 1);
        // KL(p_t || p_s) element-wise: p_t (log p_t - log p_s); 'mean' divides by B*C.
        var divergence = logTeacher.exp().mul(logTeacher - logStudent).mean();
        return divergence.mul(weight).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public override string ToString() => FormattableString.Invariant($"self-distillation(T={Temperature}, alpha={Alpha})");
}
