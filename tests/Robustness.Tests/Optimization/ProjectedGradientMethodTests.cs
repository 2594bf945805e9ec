using FluentAssertions;
using Robustness.Attacks;
using Robustness.Data;
using Robustness.Models;
using Robustness.Optimization;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Robustness.Tests.Optimization;

/// <summary>The one projected-gradient engine: direction, feasible sets, the run loop.</summary>
public class ProjectedGradientMethodTests
{
    private static (Classifier Model, Tensor Images, Tensor Labels) Setup()
    {
        var set = SyntheticImageSet.Generate(16, seed: 4, size: 8, classes: 4);
        var model = Classifier.Create(new ModelSpec("small-cnn", Classes: 4, Width: 4, ImageSize: 8), seed: 3);
        model.Eval();
        return (model, set.ToTensor(0, 16), set.LabelsTensor(0, 16));
    }

    private static double MeanLoss(Classifier model, Tensor x, Tensor labels)
    {
        using var _ = torch.no_grad();
        return AttackMath.CrossEntropy(model.Forward(x), labels).mean().item<float>();
    }

    [Theory]
    [InlineData(StepDirection.Ascend)]
    [InlineData(StepDirection.Descend)]
    public void A_run_moves_the_loss_its_way_and_stays_in_the_ball(StepDirection direction)
    {
        using var scope = torch.NewDisposeScope();
        var (model, images, labels) = Setup();
        using var _ = model;
        double eps = 8.0 / 255;
        var engine = new ProjectedGradientMethod(new SteepestStep(Norm.Linf, 2.0 / 255), direction);

        var result = engine.Run(images, new NormBall(images, Norm.Linf, eps), new ClassifierLoss(model, l => AttackMath.CrossEntropy(l, labels)), steps: 5);

        double before = MeanLoss(model, images, labels), after = MeanLoss(model, result, labels);
        if (direction == StepDirection.Ascend) after.Should().BeGreaterThan(before);
        else after.Should().BeLessThan(before);
        (result - images).abs().max().item<float>().Should().BeLessThanOrEqualTo((float)eps + 1e-7f);
        result.min().item<float>().Should().BeGreaterThanOrEqualTo(0f);
        result.max().item<float>().Should().BeLessThanOrEqualTo(1f);
        result.requires_grad.Should().BeFalse();
        Robustness.Tests.Models.ModelTestSupport.Identical(images, Setup().Images).Should().BeTrue("the start stays the caller's, unchanged");
    }

    [Fact]
    public void The_box_and_the_linf_ball_are_the_same_set()
    {
        using var scope = torch.NewDisposeScope();
        var clean = torch.rand([4, 3, 8, 8], generator: new Generator(1));
        var candidate = (clean + torch.randn([4, 3, 8, 8], generator: new Generator(2)).mul(Robustness.Runtime.Scalars.Half)).clamp(-1, 2);
        using var box = new LinfBox(clean, 8.0 / 255);

        var a = box.Project(candidate);
        var b = new NormBall(clean, Norm.Linf, 8.0 / 255).Project(candidate);

        (a - b).abs().max().item<float>().Should().BeLessThan(1e-6f, "the same set, up to float32 rounding of the two formulas");
    }

    [Fact]
    public void The_run_puts_the_objectives_model_in_its_mode_and_restores_it()
    {
        using var scope = torch.NewDisposeScope();
        var (model, images, labels) = Setup();
        using var _ = model;
        bool? trainingDuringRun = null;
        var objective = new ClassifierLoss(model, l => { trainingDuringRun = model.IsTraining; return AttackMath.CrossEntropy(l, labels); }, ModelMode.Train);

        new ProjectedGradientMethod(new SteepestStep(Norm.L2, 0.1), StepDirection.Ascend).Run(images, new NormBall(images, Norm.L2, 0.5), objective, steps: 1);

        trainingDuringRun.Should().BeTrue();
        model.IsTraining.Should().BeFalse();
    }

    [Fact]
    public void Zero_steps_return_the_start_and_bad_arguments_are_named()
    {
        using var scope = torch.NewDisposeScope();
        var (model, images, labels) = Setup();
        using var _ = model;
        var engine = new ProjectedGradientMethod(new SteepestStep(Norm.Linf, 1.0 / 255), StepDirection.Descend);
        var unmoved = engine.Run(images, new NormBall(images, Norm.Linf, 0.1), new ClassifierLoss(model, l => AttackMath.CrossEntropy(l, labels)), 0);
        Robustness.Tests.Models.ModelTestSupport.Identical(unmoved, images).Should().BeTrue();

        var badStep = () => new SteepestStep(Norm.Linf, -1.0 / 255);
        badStep.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("stepSize");
        var badSteps = () => engine.Run(images, new NormBall(images, Norm.Linf, 0.1), new ClassifierLoss(model, l => l.sum(1)), -1);
        badSteps.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("steps");
    }

    [Fact]
    public void Cancellation_stops_between_steps()
    {
        using var scope = torch.NewDisposeScope();
        var (model, images, labels) = Setup();
        using var _ = model;
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        var run = () => new ProjectedGradientMethod(new SteepestStep(Norm.Linf, 1.0 / 255), StepDirection.Ascend)
            .Run(images, new NormBall(images, Norm.Linf, 0.1), new ClassifierLoss(model, l => AttackMath.CrossEntropy(l, labels)), 3, cancel.Token);
        run.Should().Throw<OperationCanceledException>();
    }
}
