using FluentAssertions;
using Robustness.Attacks;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Robustness.Tests.Attacks;

public sealed class BoxedHyperplaneProjectionTests
{
    private const int Rows = 64, Size = 12;

    [Theory]
    [InlineData(Norm.Linf)]
    [InlineData(Norm.L2)]
    public void LandsOnTheHyperplaneInsideTheBox_NoFartherThanAnyFeasiblePoint(Norm norm)
    {
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(7);
        var points = torch.rand([Rows, Size], dtype: ScalarType.Float64, generator: generator);
        var normals = torch.randn([Rows, Size], dtype: ScalarType.Float64, generator: generator);
        // A known feasible point q in the box fixes the offset: b = w . q.
        var feasible = torch.rand([Rows, Size], dtype: ScalarType.Float64, generator: generator);
        var offsets = (normals * feasible).sum(1);

        var step = BoxedHyperplaneProjection.Step(points, normals, offsets, norm);
        var landed = points + step;

        ((normals * landed).sum(1) - offsets).abs().max().item<double>().Should().BeLessThan(1e-9);
        landed.min().item<double>().Should().BeGreaterThanOrEqualTo(-1e-12);
        landed.max().item<double>().Should().BeLessThanOrEqualTo(1 + 1e-12);
        var ours = AttackMath.PerSampleNorm(step, norm);
        var theirs = AttackMath.PerSampleNorm(feasible - points, norm);
        ours.le(theirs + 1e-9).all().item<bool>().Should().BeTrue("the projection is the closest point of the box on the hyperplane");
        // And it matches a bisection on the optimality condition, row by row.
        var expected = Enumerable.Range(0, Rows).Select(i => ReferenceNorm(points[i], normals[i], offsets[i].item<double>(), norm)).ToArray();
        ours.data<double>().ToArray().Should().Equal(expected, (a, b) => Math.Abs(a - b) < 1e-7);
    }

    [Fact]
    public void WhenTheBoxCannotReachTheHyperplane_MovesEveryCoordinateToItsBound()
    {
        using var scope = torch.NewDisposeScope();
        var points = torch.tensor(new[] { 0.2f, 0.5f, 0.9f }).unsqueeze(0);
        var normals = torch.tensor(new[] { 1f, -1f, 0f }).unsqueeze(0);
        var step = BoxedHyperplaneProjection.Step(points, normals, torch.tensor(new[] { 10f }), Norm.Linf);
        step.squeeze(0).data<float>().ToArray().Should().Equal(new[] { 0.8f, -0.5f, 0f }, (a, b) => Math.Abs(a - b) < 1e-6);
    }

    [Fact]
    public void RejectsL1AndMismatchedShapes()
    {
        using var scope = torch.NewDisposeScope();
        var p = torch.zeros(2, 3);
        FluentActions.Invoking(() => BoxedHyperplaneProjection.Step(p, p, torch.zeros(2), Norm.L1)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => BoxedHyperplaneProjection.Step(p, torch.zeros(2, 4), torch.zeros(2), Norm.L2)).Should().Throw<ArgumentException>();
    }

    // The optimal move of coordinate j is min(t * rate_j, room_j) along w; bisection on t finds where the progress
    // reaches the needed change, and the norm of that move is the reference.
    private static double ReferenceNorm(Tensor point, Tensor normal, double offset, Norm norm)
    {
        double[] p = point.data<double>().ToArray(), w = normal.data<double>().ToArray();
        double needed = offset - p.Zip(w, (a, b) => a * b).Sum();
        double sign = needed < 0 ? -1 : 1;
        double[] room = p.Select((v, j) => w[j] * sign > 0 ? 1 - v : v).ToArray();
        double[] rate = w.Select(v => norm == Norm.Linf ? 1 : Math.Abs(v)).ToArray();
        double Move(int j, double t) => Math.Min(t * rate[j], room[j]);
        double Progress(double t) => Enumerable.Range(0, p.Length).Sum(j => Math.Abs(w[j]) * Move(j, t));
        double lo = 0, hi = 1e6;
        for (int i = 0; i < 200; i++)
        {
            double mid = (lo + hi) / 2;
            if (Progress(mid) < Math.Abs(needed)) lo = mid; else hi = mid;
        }
        var moves = Enumerable.Range(0, p.Length).Select(j => w[j] == 0 ? 0 : Move(j, hi)).ToArray();
        return norm == Norm.Linf ? moves.Max() : Math.Sqrt(moves.Sum(m => m * m));
    }
}
