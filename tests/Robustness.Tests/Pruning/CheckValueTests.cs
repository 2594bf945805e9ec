using FluentAssertions;
using Robustness.Pruning;
using TorchSharp;
using static TorchSharp.torch;
using Xunit;

namespace Robustness.Tests.Pruning;

/// <summary>The two check values of PWOA.md, and the properties the formulas promise.</summary>
public class CheckValueTests
{
    [Fact]
    public void Self_distillation_matches_the_check_value()
    {
        using var scope = torch.NewDisposeScope();
        var student = torch.tensor(new float[] { 0, 0 }).reshape(1, 2);
        var teacher = torch.tensor(new float[] { (float)(30 * Math.Log(3)), 0 }).reshape(1, 2);
        var loss = new SelfDistillationLoss(temperature: 30, alpha: 10).Compute(student, teacher);
        loss.item<float>().Should().BeApproximately(588.654f, 0.0005f);
    }

    [Fact]
    public void Self_distillation_is_zero_for_equal_logits_and_trains_only_the_student()
    {
        using var scope = torch.NewDisposeScope();
        var student = torch.randn(4, 3, generator: new Generator(3)).requires_grad_();
        var teacher = student.detach().clone().requires_grad_();
        var loss = new SelfDistillationLoss().Compute(student, teacher);
        loss.item<float>().Should().BeApproximately(0f, 1e-6f);
        var shifted = new SelfDistillationLoss().Compute(student, teacher.detach() * 2);
        shifted.backward();
        student.grad.Should().NotBeNull();
        teacher.grad.Should().BeNull("the teacher is frozen");
    }

    [Fact]
    public void Normalised_hsic_matches_the_check_value_and_ignores_a_joint_permutation()
    {
        using var scope = torch.NewDisposeScope();
        var oneHot = OneHotOfIndexMod10(32);
        var value = Hsic.Normalized(oneHot, HsicKernel.Gaussian, oneHot, HsicKernel.Linear, sigma: 5, epsilon: 1e-5, float64: true);
        value.dtype.Should().Be(ScalarType.Float64);
        value.item<double>().Should().BeApproximately(8.776, 0.0005);

        var order = torch.randperm(32, generator: new Generator(7));
        var permuted = oneHot.index_select(0, order);
        var permutedValue = Hsic.Normalized(permuted, HsicKernel.Gaussian, permuted, HsicKernel.Linear, float64: true);
        permutedValue.item<double>().Should().BeApproximately(value.item<double>(), 1e-6);
    }

    [Fact]
    public void Normalised_hsic_in_float32_is_close_to_float64_and_batched_kernels_give_the_same_values()
    {
        using var scope = torch.NewDisposeScope();
        var a = torch.rand(16, 3, 4, 4, generator: new Generator(1));
        var b = torch.rand(16, 5, generator: new Generator(2));
        double single = Hsic.Normalized(a, HsicKernel.Gaussian, b, HsicKernel.Gaussian).item<float>();
        double exact = Hsic.Normalized(a, HsicKernel.Gaussian, b, HsicKernel.Gaussian, float64: true).item<double>();
        // eps m = 1.6e-4 makes the solve ill-conditioned: float32 drifts by about a percent here, hence the float64 option.
        single.Should().BeApproximately(exact, 0.05 * Math.Max(1, Math.Abs(exact)));

        var ka = Hsic.GaussianKernel(a.to_type(ScalarType.Float64));
        var kb = Hsic.GaussianKernel(b.to_type(ScalarType.Float64));
        var batched = Hsic.Normalized(torch.stack([ka, kb]), torch.stack([kb, ka]));
        batched.shape.Should().Equal(2);
        batched[0].item<double>().Should().BeApproximately(exact, 1e-9);
        batched[1].item<double>().Should().BeApproximately(Hsic.Normalized(kb, ka).item<double>(), 1e-9);
    }

    [Fact]
    public void Normalised_hsic_passes_gradients_through_the_inverse()
    {
        using var scope = torch.NewDisposeScope();
        var z = torch.randn(12, 6, generator: new Generator(5)).requires_grad_();
        var labels = torch.arange(12L) % 3;
        var y = torch.eye(3).index_select(0, labels);
        var value = Hsic.Normalized(z, HsicKernel.Gaussian, y, HsicKernel.Linear);
        value.backward();
        var grad = z.grad!;
        grad.isfinite().all().item<bool>().Should().BeTrue();
        grad.abs().sum().item<float>().Should().BeGreaterThan(0f);
    }

    [Fact]
    public void Gaussian_kernel_uses_the_flattened_size_in_its_bandwidth()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(new float[] { 0, 0, 3, 4 }).reshape(2, 2); // squared distance 25, d = 2
        var k = Hsic.GaussianKernel(x, sigma: 5);
        k[0, 1].item<float>().Should().BeApproximately((float)Math.Exp(-25.0 / (2 * 25 * 2)), 1e-6f);
        k[0, 0].item<float>().Should().Be(1f);
        Hsic.LinearKernel(x)[1, 1].item<float>().Should().Be(25f);
    }

    [Fact]
    public void Bad_arguments_name_themselves()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.rand(4, 2);
        FluentActions.Invoking(() => Hsic.GaussianKernel(x, sigma: 0)).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("sigma");
        FluentActions.Invoking(() => Hsic.RegularizedProjection(torch.rand(3, 4))).Should().Throw<ArgumentException>().WithParameterName("kernel");
        FluentActions.Invoking(() => new SelfDistillationLoss(temperature: 0)).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("temperature");
        FluentActions.Invoking(() => Hsic.Normalized(x, HsicKernel.Gaussian, torch.rand(5, 2), HsicKernel.Gaussian)).Should().Throw<ArgumentException>().WithParameterName("b");
    }

    private static Tensor OneHotOfIndexMod10(int m)
    {
        var labels = torch.arange((long)m) % 10;
        return torch.eye(10, dtype: ScalarType.Float64).index_select(0, labels);
    }
}
