using FluentAssertions;
using Robustness.Attacks;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Robustness.Tests.Attacks;

public class BudgetTests
{
    [Theory]
    [InlineData("8/255", 8.0 / 255)]
    [InlineData("0.0314", 0.0314)]
    [InlineData("8", 8.0 / 255)]
    [InlineData("8px", 8.0 / 255)]
    [InlineData("0.5", 0.5)]
    [InlineData("1.0", 1.0)]
    [InlineData("1e-2", 0.01)]
    [InlineData(" 16 / 255 ", 16.0 / 255)]
    [InlineData("0", 0.0)]
    public void Budgets_parse_from_the_forms_people_write(string text, double expected) =>
        Budget.Parse(text).Should().BeApproximately(expected, 1e-12);

    [Theory]
    [InlineData("-8/255")]
    [InlineData("abc")]
    [InlineData("8/0")]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    [InlineData("1/2/3")]
    public void Bad_budgets_raise_naming_the_option(string text)
    {
        var act = () => Budget.Parse(text, "--eps");
        act.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("--eps");
    }

    [Fact]
    public void Budgets_format_as_pixel_fractions_when_they_are_whole_levels()
    {
        Budget.Format(8.0 / 255).Should().Be("8/255");
        Budget.Format(0.5).Should().Be("0.5");
    }
}

public class AttackMathTests
{
    [Theory]
    [InlineData(Norm.Linf, 0.03)]
    [InlineData(Norm.L2, 0.5)]
    [InlineData(Norm.L1, 2.0)]
    public void Projection_lands_in_the_ball_and_leaves_points_inside_unchanged(Norm norm, double eps)
    {
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(3);
        var big = torch.randn([6, 3, 8, 8], generator: generator);
        var projected = AttackMath.Project(big, norm, eps);
        AttackMath.PerSampleNorm(projected, norm).max().item<float>().Should().BeLessThanOrEqualTo((float)(eps * (1 + 1e-5)));

        var small = AttackMath.Project(big, norm, eps) * 0.5;
        AttackMath.Project(small, norm, eps).allclose(small, 1e-6, 1e-7).Should().BeTrue();
    }

    [Fact]
    public void The_l1_projection_is_the_nearest_point_of_the_ball()
    {
        using var scope = torch.NewDisposeScope();
        // Projecting (3, 1) onto the l1 ball of radius 2 gives (2, 0): soft-thresholding at theta = 1.
        var v = torch.tensor(new float[] { 3f, -1f }).view(1, 2);
        AttackMath.Project(v, Norm.L1, 2.0).data<float>().ToArray().Should().Equal(2f, 0f);
        var w = torch.tensor(new float[] { 1f, 1f, 1f }).view(1, 3);
        AttackMath.Project(w, Norm.L1, 1.5).data<float>().ToArray().Should().OnlyContain(x => Math.Abs(x - 0.5f) < 1e-6);
    }

    [Theory]
    [InlineData(Norm.Linf, 0.03)]
    [InlineData(Norm.L2, 0.5)]
    [InlineData(Norm.L1, 3.0)]
    public void Random_starts_lie_in_the_ball_and_depend_only_on_the_seed(Norm norm, double eps)
    {
        using var scope = torch.NewDisposeScope();
        Tensor Draw() { using var g = new Generator(9); return AttackMath.RandomInBall([5, 3, 8, 8], norm, eps, g, torch.CPU); }
        var a = Draw();
        AttackMath.PerSampleNorm(a, norm).max().item<float>().Should().BeLessThanOrEqualTo((float)(eps * (1 + 1e-5)));
        a.eq(Draw()).all().item<bool>().Should().BeTrue();
    }

    [Fact]
    public void Steepest_directions_have_unit_size_in_their_norm()
    {
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(4);
        var g = torch.randn([4, 3, 8, 8], generator: generator);
        AttackMath.PerSampleNorm(AttackMath.SteepestDirection(g, Norm.Linf), Norm.Linf).allclose(torch.ones(4)).Should().BeTrue();
        AttackMath.PerSampleNorm(AttackMath.SteepestDirection(g, Norm.L2), Norm.L2).allclose(torch.ones(4), 1e-5).Should().BeTrue();
        AttackMath.PerSampleNorm(AttackMath.SteepestDirection(g, Norm.L1), Norm.L1).allclose(torch.ones(4), 1e-5).Should().BeTrue();
    }

    [Fact]
    public void DLR_and_margin_follow_their_definitions()
    {
        using var scope = torch.NewDisposeScope();
        var logits = torch.tensor(new float[] { 5f, 3f, 1f, 0f }).view(1, 4);
        var label = torch.tensor(new long[] { 0 });
        AttackMath.Margin(logits, label).item<float>().Should().Be(2f);
        AttackMath.Dlr(logits, label).item<float>().Should().BeApproximately(-(5f - 3f) / (5f - 1f), 1e-6f);
        AttackMath.TargetedDlr(logits, label, torch.tensor(new long[] { 2 })).item<float>()
            .Should().BeApproximately(-(5f - 1f) / (5f - 0.5f), 1e-6f);
    }

    [Fact]
    public void The_input_gradient_writes_no_parameter_gradient()
    {
        using var scope = torch.NewDisposeScope();
        using var model = Classifier.Create(new Robustness.Models.ModelSpec("small-cnn", 4, 2, ImageSize: 16), seed: 1);
        var x = torch.rand([3, 3, 16, 16]);
        var y = torch.tensor(new long[] { 0, 1, 2 });
        var (loss, gradient, logits) = AttackMath.LossAndGradient(model, x, z => AttackMath.CrossEntropy(z, y));

        gradient.shape.Should().Equal(x.shape);
        loss.shape.Should().Equal(3);
        logits.shape.Should().Equal(3, 4);
        foreach (var p in model.Network.parameters())
            (p.grad is null || p.grad.count_nonzero().item<long>() == 0).Should().BeTrue("attacks differentiate the input only");
    }
}

public class TargetSelectionTests
{
    [Fact]
    public void Targets_never_equal_the_true_label()
    {
        using var scope = torch.NewDisposeScope();
        using var model = Classifier.Create(new Robustness.Models.ModelSpec("small-cnn", 5, 2, ImageSize: 16), seed: 1);
        var x = torch.rand([40, 3, 16, 16]);
        var y = torch.arange(40L).remainder(5);
        using var g = new Generator(1);
        foreach (var rule in new[] { TargetSelection.Random, TargetSelection.LeastLikely, TargetSelection.Label(2) })
        {
            var t = rule.Resolve(model, x, y, g)!;
            if (rule != TargetSelection.LeastLikely) t.ne(y).all().item<bool>().Should().BeTrue(rule.ToString());
            t.ge(0).logical_and(t.lt(5)).all().item<bool>().Should().BeTrue();
        }
        TargetSelection.None.Resolve(model, x, y, g).Should().BeNull();
    }

    [Theory]
    [InlineData("random")]
    [InlineData("least-likely")]
    [InlineData("3")]
    [InlineData("none")]
    public void Target_rules_parse(string text) => TargetSelection.Parse(text).Should().NotBeNull();

    [Fact]
    public void Bad_target_rules_raise() =>
        ((Action)(() => TargetSelection.Parse("sideways"))).Should().Throw<ArgumentOutOfRangeException>();
}
