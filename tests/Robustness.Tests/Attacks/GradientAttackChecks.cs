using FluentAssertions;
using Robustness.Attacks;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Tests.Attacks;

/// <summary>The contract checks every gradient-attack test class shares.</summary>
internal static class GradientAttackChecks
{
    /// <summary>Asserts the input's shape, values in [0,1] and ||x' - x|| &lt;= eps + 1e-6 for every image.</summary>
    public static void WithinBudget(Tensor adversarial, Tensor clean, Norm norm, double epsilon)
    {
        using var scope = torch.NewDisposeScope();
        adversarial.shape.Should().Equal(clean.shape);
        adversarial.dtype.Should().Be(ScalarType.Float32);
        adversarial.min().item<float>().Should().BeGreaterThanOrEqualTo(0f);
        adversarial.max().item<float>().Should().BeLessThanOrEqualTo(1f);
        adversarial.isnan().any().item<bool>().Should().BeFalse();
        // The difference is taken in float64, so the measured norm is that of the float32 images exactly. The output
        // x + delta is rounded to float32 (half an ulp, up to 3e-8, per pixel), which a dense l1 perturbation of 3,072
        // pixels sums to about 1e-6 at eps = 12; hence 1e-6 plus a float32-sized relative margin.
        var norms = AttackMath.PerSampleNorm(adversarial.to(ScalarType.Float64) - clean.to(ScalarType.Float64), norm);
        norms.max().item<double>().Should().BeLessThanOrEqualTo(epsilon + 1e-6 + epsilon * 1e-6);
    }

    /// <summary>eps = 0 gives back the input, value for value.</summary>
    public static void ZeroBudgetReturnsInput(IAttack attack, TrainedModelFixture fixture)
    {
        using var scope = torch.NewDisposeScope();
        var adversarial = attack.Run(fixture.Model, fixture.Images, fixture.Labels);
        GradientAttackChecks.Same(adversarial, fixture.Images).Should().BeTrue();
    }

    /// <summary>
    /// Runs the attack with the model in TRAINING mode and asserts that the mode is restored and that no weight or
    /// buffer (batch-norm running statistics included) changed; the model is put back in eval mode afterwards.
    /// </summary>
    public static void LeavesModelUnchanged(IAttack attack, TrainedModelFixture fixture)
    {
        using var scope = torch.NewDisposeScope();
        var before = fixture.Model.Network.state_dict().ToDictionary(p => p.Key, p => p.Value.clone());
        var gradsBefore = fixture.Model.Network.parameters().Select(p => p.grad?.clone()).ToArray();
        fixture.Model.Train();
        try
        {
            attack.Run(fixture.Model, fixture.Images, fixture.Labels);
            fixture.Model.IsTraining.Should().BeTrue();
        }
        finally
        {
            fixture.Model.Eval();
        }
        foreach (var (name, value) in fixture.Model.Network.state_dict())
            GradientAttackChecks.Same(value, before[name]).Should().BeTrue($"{name} must not change");
        // Attacks take input gradients only: whatever .grad the parameters had (training may leave some) is untouched.
        var gradsAfter = fixture.Model.Network.parameters().Select(p => p.grad).ToArray();
        for (int i = 0; i < gradsAfter.Length; i++)
        {
            if (gradsBefore[i] is null) gradsAfter[i].Should().BeNull();
            else GradientAttackChecks.Same(gradsAfter[i]!, gradsBefore[i]!).Should().BeTrue();
        }
    }

    /// <summary>True when both tensors have the same shape and the same values, bit for bit.</summary>
    public static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    /// <summary>Fraction of images classified as their target.</summary>
    public static double TargetRate(Classifier model, Tensor images, Tensor targets)
    {
        using var scope = torch.NewDisposeScope();
        return model.Predict(images).eq(targets).to(ScalarType.Float32).mean().item<float>();
    }

    /// <summary>Per-image norms of x' - x, as doubles.</summary>
    public static double[] Norms(Tensor adversarial, Tensor clean, Norm norm)
    {
        using var scope = torch.NewDisposeScope();
        return AttackMath.PerSampleNorm(adversarial.to(ScalarType.Float64) - clean.to(ScalarType.Float64), norm).data<double>().ToArray();
    }
}
