using FluentAssertions;
using Robustness.Attacks;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Robustness.Tests.Attacks;

public class ClampToBudgetTests
{
    // The float32 result measured in float64 must be inside the ball with no tolerance at all, and the projection must
    // not give away more than the rounding margin: it lands on the sphere, a hair inside.
    [Theory]
    [InlineData(Norm.L1, 12.0)]
    [InlineData(Norm.L1, 0.5)]
    [InlineData(Norm.L2, 0.5)]
    [InlineData(Norm.L2, 3.0)]
    public void The_float32_result_is_within_the_budget_exactly_and_near_its_edge(Norm norm, double eps)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(21);
        var clean = torch.rand([64, 3, 32, 32], generator: generator);
        var far = (clean + torch.randn([64, 3, 32, 32], generator: generator)).clamp(0, 1);

        var result = AttackMath.ClampToBudget(clean, far, norm, eps);

        result.dtype.Should().Be(ScalarType.Float32);
        result.min().item<float>().Should().BeGreaterThanOrEqualTo(0f);
        result.max().item<float>().Should().BeLessThanOrEqualTo(1f);
        var norms = AttackMath.PerSampleNorm(result.to(ScalarType.Float64) - clean.to(ScalarType.Float64), norm);
        norms.max().item<double>().Should().BeLessThanOrEqualTo(eps);
        double margin = Math.Pow(2, -25) * (norm == Norm.L1 ? 3 * 32 * 32 : Math.Sqrt(3 * 32 * 32));
        norms.min().item<double>().Should().BeGreaterThan(eps - 2 * margin, "a point far outside is projected onto the sphere, inside by the rounding margin");
    }

    [Fact]
    public void A_point_inside_the_ball_is_kept()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(22);
        var clean = torch.rand([4, 3, 8, 8], generator: generator).mul(0.5).add(0.25);
        var near = clean + torch.randn([4, 3, 8, 8], generator: generator).mul(1e-3);

        var result = AttackMath.ClampToBudget(clean, near, Norm.L2, 1.0);

        (result - near).abs().max().item<float>().Should().BeLessThan(1e-7f);
    }
}
