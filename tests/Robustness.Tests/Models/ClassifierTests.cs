using FluentAssertions;
using TorchSharp;
using Xunit;

namespace Robustness.Tests.Models;

public class ClassifierTests
{
    private static readonly Robustness.Models.ModelSpec Spec = ModelTestSupport.SmallSpecs["resnet18"];

    [Fact]
    public void Inputs_of_the_wrong_rank_channels_or_dtype_are_rejected()
    {
        using var scope = torch.NewDisposeScope();
        using var classifier = Classifier.Create(Spec, Normalization.Cifar10, seed: 1);

        FluentActions.Invoking(() => classifier.Forward(torch.rand(3, 16, 16)))
            .Should().Throw<ArgumentException>().WithMessage("*[N, 3, H, W]*[3, 16, 16]*").Which.ParamName.Should().Be("images");
        FluentActions.Invoking(() => classifier.Forward(torch.rand(2, 1, 16, 16)))
            .Should().Throw<ArgumentException>().WithMessage("*[2, 1, 16, 16]*");
        FluentActions.Invoking(() => classifier.Predict(torch.rand(2, 3, 16, 16, dtype: torch.float64)))
            .Should().Throw<ArgumentException>().WithMessage("*float32*Float64*");
        FluentActions.Invoking(() => classifier.Features(torch.zeros(new long[] { 2, 3, 16, 16 }, dtype: torch.uint8)))
            .Should().Throw<ArgumentException>().WithMessage("*float32*");
    }

    [Fact]
    public void EvalMode_and_TrainMode_restore_the_previous_mode()
    {
        using var classifier = Classifier.Create(Spec, seed: 1);
        classifier.Train();
        using (classifier.EvalMode())
        {
            classifier.IsTraining.Should().BeFalse();
            using (classifier.TrainMode()) classifier.IsTraining.Should().BeTrue();
            classifier.IsTraining.Should().BeFalse();
        }
        classifier.IsTraining.Should().BeTrue();

        classifier.Eval();
        using (classifier.EvalMode()) classifier.IsTraining.Should().BeFalse();
        classifier.IsTraining.Should().BeFalse();
    }

    [Fact]
    public void Eval_reaches_every_batch_norm_inside_the_blocks()
    {
        using var classifier = Classifier.Create(Spec, seed: 1);
        classifier.Eval();
        classifier.Network.modules().Should().OnlyContain(m => !m.training);
        classifier.Train();
        classifier.Network.modules().Should().OnlyContain(m => m.training);
    }

    [Fact]
    public void Clone_is_an_independent_deep_copy_with_the_same_mode_and_logits()
    {
        using var scope = torch.NewDisposeScope();
        using var original = Classifier.Create(Spec, Normalization.Cifar10, seed: 1);
        ModelTestSupport.WarmUpBatchNorm(original);
        original.Eval();
        var images = ModelTestSupport.Images(Spec);

        using var clone = original.Clone();

        clone.IsTraining.Should().BeFalse();
        clone.Spec.Should().Be(original.Spec);
        clone.Normalization.Should().Be(original.Normalization);
        ModelTestSupport.Identical(clone.Forward(images), original.Forward(images)).Should().BeTrue();
        using (torch.no_grad()) clone.Network.parameters().First().add_(1);
        ModelTestSupport.Identical(clone.Forward(images), original.Forward(images)).Should().BeFalse("the clone shares no storage");

        original.Train();
        using var trainingClone = original.Clone();
        trainingClone.IsTraining.Should().BeTrue();
    }

    [Fact]
    public void CopyWeightsFrom_copies_parameters_and_buffers()
    {
        using var scope = torch.NewDisposeScope();
        using var source = Classifier.Create(Spec, seed: 1);
        ModelTestSupport.WarmUpBatchNorm(source);
        using var target = Classifier.Create(Spec, seed: 2);

        target.CopyWeightsFrom(source);

        foreach (var (name, tensor) in source.Network.state_dict())
            ModelTestSupport.Identical(target.Network.state_dict()[name], tensor).Should().BeTrue(name);
    }

    [Fact]
    public void CopyWeightsFrom_another_shape_fails_before_changing_anything()
    {
        using var scope = torch.NewDisposeScope();
        using var source = Classifier.Create(Spec with { Width = 8 }, seed: 1);
        using var target = Classifier.Create(Spec, seed: 2);
        using var other = Classifier.Create(ModelTestSupport.SmallSpecs["small-cnn"], seed: 3);
        var before = target.Network.state_dict().ToDictionary(p => p.Key, p => p.Value.clone());

        FluentActions.Invoking(() => target.CopyWeightsFrom(source)).Should().Throw<ArgumentException>().WithMessage("*conv1.weight*shape*");
        FluentActions.Invoking(() => target.CopyWeightsFrom(other)).Should().Throw<ArgumentException>().Which.ParamName.Should().Be("source");

        foreach (var (name, tensor) in target.Network.state_dict())
            ModelTestSupport.Identical(tensor, before[name]).Should().BeTrue(name);
    }

    [Fact]
    public void Predict_keeps_the_mode_and_returns_labels()
    {
        using var scope = torch.NewDisposeScope();
        using var classifier = Classifier.Create(Spec, seed: 1);
        classifier.Train();
        var labels = classifier.Predict(ModelTestSupport.Images(Spec, 4));
        labels.dtype.Should().Be(torch.int64);
        labels.shape.Should().Equal(4);
        classifier.IsTraining.Should().BeTrue();
    }
}
