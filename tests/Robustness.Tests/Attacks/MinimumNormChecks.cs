using FluentAssertions;
using Robustness.Attacks;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Tests.Attacks;

/// <summary>Checks shared by the minimum-norm attack tests (CW, DeepFool, FAB-T).</summary>
internal static class MinimumNormChecks
{
    /// <summary>The input's shape, float32, no NaN, values in [0,1].</summary>
    public static void ValidImages(Tensor adversarial, Tensor clean)
    {
        using var scope = torch.NewDisposeScope();
        adversarial.shape.Should().Equal(clean.shape);
        adversarial.dtype.Should().Be(ScalarType.Float32);
        adversarial.isnan().any().item<bool>().Should().BeFalse();
        adversarial.min().item<float>().Should().BeGreaterThanOrEqualTo(0f);
        adversarial.max().item<float>().Should().BeLessThanOrEqualTo(1f);
    }

    /// <summary>Per-image norms of x' - x, in double precision.</summary>
    public static double[] Norms(Tensor adversarial, Tensor clean, Norm norm)
    {
        using var scope = torch.NewDisposeScope();
        return AttackMath.PerSampleNorm((adversarial - clean).to(ScalarType.Float64), norm).data<double>().ToArray();
    }

    /// <summary>Per image: true when the model gets it wrong.</summary>
    public static bool[] Fooled(Classifier model, Tensor images, Tensor labels)
    {
        using var scope = torch.NewDisposeScope();
        return model.Predict(images).ne(labels).data<bool>().ToArray();
    }

    /// <summary>Per image: max_{i != y} z_i - z_y on <paramref name="images"/> (positive when misclassified).</summary>
    public static double[] LogitGap(Classifier model, Tensor images, Tensor labels)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var logits = model.Forward(images).to(ScalarType.Float64);
        return (-AttackMath.Margin(logits, labels)).data<double>().ToArray();
    }

    /// <summary>True when both tensors have the same shape and values, bit for bit.</summary>
    public static bool Same(Tensor a, Tensor b)
    {
        using var scope = torch.NewDisposeScope();
        return a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();
    }

    /// <summary>
    /// Runs <paramref name="attack"/> with the model in TRAINING mode and asserts that the mode is restored and that no
    /// weight, buffer or parameter gradient changed; the model goes back to eval mode afterwards.
    /// </summary>
    public static void LeavesModelUnchanged(IAttack attack, TrainedModelFixture fixture, int count = 8)
    {
        using var scope = torch.NewDisposeScope();
        var before = fixture.Model.Network.state_dict().ToDictionary(p => p.Key, p => p.Value.clone());
        var gradientsBefore = fixture.Model.Network.parameters().Select(p => p.grad?.clone()).ToArray();
        fixture.Model.Train();
        try
        {
            attack.Run(fixture.Model, fixture.Images.narrow(0, 0, count), fixture.Labels.narrow(0, 0, count));
            fixture.Model.IsTraining.Should().BeTrue("the attack must restore the mode it found");
        }
        finally
        {
            fixture.Model.Eval();
        }
        foreach (var (name, value) in fixture.Model.Network.state_dict())
            Same(value, before[name]).Should().BeTrue($"{name} must not change");
        var gradientsAfter = fixture.Model.Network.parameters().Select(p => p.grad).ToArray();
        for (int i = 0; i < gradientsAfter.Length; i++)
        {
            if (gradientsBefore[i] is null) gradientsAfter[i].Should().BeNull();
            else Same(gradientsAfter[i]!, gradientsBefore[i]!).Should().BeTrue();
        }
    }

    /// <summary>The mean of <paramref name="values"/> over the indices where <paramref name="keep"/> holds.</summary>
    public static double MeanWhere(double[] values, bool[] keep) =>
        values.Where((_, i) => keep[i]).DefaultIfEmpty(double.NaN).Average();
}
