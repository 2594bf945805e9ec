using FluentAssertions;
using Robustness.Data;
using Robustness.Masks;
using Robustness.Models;
using Robustness.Training;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;

namespace Robustness.Efficiency.Tests;

/// <summary>All-in-One's multi-ratio network: nested slices of one weight set, batch norm per ratio, exact export, gradients gathered.</summary>
public class MultiRatioTests(ITestOutputHelper output)
{
    private static readonly ModelSpec Spec = ArchSpecs.ResNet18(8).ToModelSpec(classes: 4, imageSize: 16);

    private static bool Same(torch.Tensor a, torch.Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    private static MultiRatioNetwork Network(params double[] ratios)
    {
        using var model = Classifier.Create(Spec, seed: 1);
        return MultiRatioNetwork.From(model, ratios.Length == 0 ? [1, 0.5, 0.25] : ratios);
    }

    [Fact]
    public void Every_ratio_is_the_leading_slice_of_the_shared_weights()
    {
        using var scope = torch.NewDisposeScope();
        using var network = Network();
        network.Ratios.Should().Equal(1, 0.5, 0.25);
        var full = network.Full.Network.state_dict();
        foreach (double ratio in new[] { 0.5, 0.25 })
        {
            var path = network.Path(ratio);
            ArchSpec.From(path.Spec).Should().Be(ChannelSelection.Leading(ChannelPlan.For(ArchSpecs.ResNet18(8), 16), ratio).SlicedSpec());
            var state = path.Network.state_dict();
            int k = (int)(8 * ratio);
            Same(state["conv1.weight"], full["conv1.weight"].narrow(0, 0, k)).Should().BeTrue();
            Same(state["layer2.0.conv1.weight"], full["layer2.0.conv1.weight"].narrow(0, 0, 2 * k).narrow(1, 0, k)).Should().BeTrue();
            Same(state["linear.bias"], full["linear.bias"]).Should().BeTrue();
        }
        // Nested: the quarter's weights are a prefix of the half's.
        Same(network.Path(0.25).Network.state_dict()["layer4.1.conv2.weight"],
            network.Path(0.5).Network.state_dict()["layer4.1.conv2.weight"].narrow(0, 0, 16).narrow(1, 0, 16)).Should().BeTrue();
    }

    [Fact]
    public void Each_ratio_keeps_its_own_batch_norm()
    {
        using var scope = torch.NewDisposeScope();
        using var network = Network();
        using (torch.no_grad()) network.Full.Network.state_dict()["bn1.running_mean"].fill_(3);
        var half = network.Path(0.5).Network.state_dict();
        half["bn1.running_mean"].abs().max().item<float>().Should().Be(0, "a ratio's batch norm is not the full width's");

        using var images = torch.rand([8, 3, 16, 16], generator: new torch.Generator(5));
        network.SetTraining(true);
        network.Path(0.5).Forward(images);
        network.SetTraining(false);
        half["bn1.running_mean"].abs().max().item<float>().Should().BeGreaterThan(0, "the ratio's batch norm tracks its own statistics");
        network.Path(0.25).Network.state_dict()["bn1.running_mean"].abs().max().item<float>().Should().Be(0, "and only its own");
        network.TrainableParameters().Count().Should().Be(network.Full.Network.parameters().Count() + 2 * 40, "two ratios, each with 20 batch norms of 2 parameters");
        network.PerRatioBytes.Should().BeLessThan(network.SharedBytes / 10);
    }

    [Fact]
    public void An_exported_ratio_is_a_normal_model_with_the_same_logits()
    {
        using var scope = torch.NewDisposeScope();
        var folder = Directory.CreateTempSubdirectory("robustness-multiratio-").FullName;
        try
        {
            using var network = Network();
            using var images = torch.rand([4, 3, 16, 16], generator: new torch.Generator(2));
            network.SetTraining(true);
            network.Path(0.5).Forward(images); // statistics that differ from the defaults
            network.SetTraining(false);
            var expected = network.Path(0.5).Forward(images);

            using var exported = network.Export(0.5);
            exported.Save(Path.Combine(folder, "half.safetensors"));
            using var loaded = Classifier.Load(Path.Combine(folder, "half.safetensors"));
            Same(loaded.Forward(images), expected).Should().BeTrue();
            loaded.Macs.Should().BeLessThan(network.Full.Macs / 3);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void A_multi_ratio_file_holds_one_weight_set_and_each_ratios_batch_norm()
    {
        using var scope = torch.NewDisposeScope();
        var folder = Directory.CreateTempSubdirectory("robustness-multiratio-").FullName;
        try
        {
            using var network = Network();
            using var images = torch.rand([4, 3, 16, 16], generator: new torch.Generator(4));
            network.SetTraining(true);
            foreach (double ratio in network.Ratios) network.Path(ratio).Forward(images);
            network.SetTraining(false);
            string file = Path.Combine(folder, "multi.safetensors");
            network.Save(file);

            using var loaded = MultiRatioNetwork.Load(file);
            loaded.Ratios.Should().Equal(network.Ratios);
            foreach (double ratio in network.Ratios)
                Same(loaded.Path(ratio).Forward(images), network.Path(ratio).Forward(images)).Should().BeTrue($"ratio {ratio}");
            using var asModel = Classifier.Load(file);
            Same(asModel.Forward(images), network.Full.Forward(images)).Should().BeTrue("the file is also the full-width model");
            new FileInfo(file).Length.Should().BeLessThan(network.SharedBytes + network.PerRatioBytes + 64 * 1024);
            FluentActions.Invoking(() => MultiRatioNetwork.Load(SaveAsPlain(folder))).Should().Throw<InvalidDataException>().WithMessage("*not a multi-ratio model*");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static string SaveAsPlain(string folder)
    {
        string file = Path.Combine(folder, "plain.safetensors");
        using var model = Classifier.Create(Spec, seed: 1);
        model.Save(file);
        return file;
    }

    [Fact]
    public void A_ratios_gradients_are_gathered_into_the_shared_slice()
    {
        using var scope = torch.NewDisposeScope();
        using var network = Network();
        using var images = torch.rand([4, 3, 16, 16], generator: new torch.Generator(3));
        var path = network.Path(0.5);
        path.Forward(images).pow(2).mean().backward();
        var pathGrad = path.Network.named_parameters().Single(p => p.name == "layer3.0.conv2.weight").parameter.grad!.clone();

        network.GatherGradients();

        var full = network.Full.Network.named_parameters().Single(p => p.name == "layer3.0.conv2.weight").parameter.grad!;
        Same(full.narrow(0, 0, 16).narrow(1, 0, 16), pathGrad).Should().BeTrue();
        full.narrow(0, 16, 16).abs().sum().item<float>().Should().Be(0, "channels the half does not use get no gradient from it");
        path.Network.named_parameters().Single(p => p.name == "layer3.0.conv2.weight").parameter.grad.Should().BeNull("the copy's gradient is cleared");
    }

    [Fact]
    public void The_sandwich_draws_the_smallest_and_random_middle_ratios()
    {
        using var network = Network(1, 0.75, 0.5, 0.25);
        var objective = new SandwichObjective(network, randomRatiosPerStep: 1);
        var random = new Random(1);
        var draws = Enumerable.Range(0, 200).Select(_ => objective.Draw(random)).ToList();
        draws.Should().OnlyContain(d => d.Count == 2 && d[0] == 0.25 && (d[1] == 0.75 || d[1] == 0.5));
        draws.Count(d => d[1] == 0.75).Should().BeInRange(70, 130);
        new SandwichObjective(network, randomRatiosPerStep: 5).Draw(random).Should().HaveCount(3, "at most the middle ratios");
    }

    [Fact]
    public void Training_teaches_every_ratio()
    {
        using var scope = torch.NewDisposeScope();
        var train = SyntheticImageSet.Generate(400, seed: 3, size: 16, classes: 4);
        var test = SyntheticImageSet.Generate(200, seed: 4, size: 16, classes: 4);
        using var network = Network();
        var before = network.Ratios.ToDictionary(r => r, r => new Evaluator().Evaluate(network.Path(r), test).Accuracy);

        var result = new MultiRatioTrainer(new MultiRatioTrainingOptions { Epochs = 4, BatchSize = 50, LearningRate = 0.05, Augment = false }).Train(network, train, test);

        output.WriteLine(string.Join(", ", network.Ratios.Select(r => $"{r}: {before[r]:P1} -> {result.TestAccuracy[r]:P1}")));
        result.History.Should().HaveCount(4);
        result.History[^1].Distillation.Should().BeGreaterThan(0);
        result.History[^1].Loss.Should().BeLessThan(result.History[0].Loss);
        foreach (double ratio in network.Ratios)
            result.TestAccuracy[ratio].Should().BeGreaterThan(Math.Max(0.4, before[ratio]), $"ratio {ratio} learns");
    }

    [Fact]
    public void The_robust_sandwich_teaches_every_ratio_from_a_teacher_with_PwoA_terms()
    {
        using var scope = torch.NewDisposeScope();
        var train = SyntheticImageSet.Generate(400, seed: 3, size: 16, classes: 4);
        var test = SyntheticImageSet.Generate(200, seed: 4, size: 16, classes: 4);
        using var teacher = Classifier.Create(Spec, seed: 2);
        new Trainer(new TrainingOptions { Epochs = 8, BatchSize = 50, LearningRate = 0.05, Seed = 1 }).Train(teacher, train);
        teacher.Eval();
        double teacherAccuracy = new Evaluator().Evaluate(teacher, test).Accuracy;
        // As in PwoA, the student starts from the teacher's weights.
        using var network = MultiRatioNetwork.From(teacher, [1, 0.5, 0.25]);
        var sliced = network.Ratios.ToDictionary(r => r, r => new Evaluator().Evaluate(network.Path(r), test).Accuracy);
        var objective = new RobustSandwichObjective(network, teacher, hsic: new Pruning.HsicBottleneckLoss(4, lambdaX: 2e-5, lambdaY: 1e-4));

        // PwoA's learning rate (0.01): the distillation term is scaled by alpha T^2.
        var result = new MultiRatioTrainer(new MultiRatioTrainingOptions { Epochs = 6, BatchSize = 50, LearningRate = 0.01, Augment = false })
            .Train(network, train, test, objective: objective);

        output.WriteLine($"teacher {teacherAccuracy:P1}; " + string.Join(", ", network.Ratios.Select(r => $"{r}: {sliced[r]:P1} -> {result.TestAccuracy[r]:P1}")));
        result.History[^1].Loss.Should().BeLessThan(result.History[0].Loss);
        result.TestAccuracy[1].Should().BeGreaterThan(teacherAccuracy - 0.1, "the full width stays close to the teacher it starts from");
        foreach (double ratio in new[] { 0.5, 0.25 })
            result.TestAccuracy[ratio].Should().BeGreaterThan(Math.Max(0.25, sliced[ratio]) + 0.08, $"ratio {ratio} learns from the teacher alone (4 classes: chance is 25%)");
        FluentActions.Invoking(() => new RobustSandwichObjective(network, Classifier.Create(new ModelSpec("small-cnn", 3, Width: 4, ImageSize: 16), seed: 1)))
            .Should().Throw<ArgumentException>().WithMessage("*classes*");
    }

    [Fact]
    public void Bad_ratios_and_options_are_refused()
    {
        using var model = Classifier.Create(Spec, seed: 1);
        FluentActions.Invoking(() => MultiRatioNetwork.From(model, [1, 0])).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("ratios");
        using var network = Network();
        FluentActions.Invoking(() => network.Path(0.3)).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*1, 0.5, 0.25*");
        FluentActions.Invoking(() => new MultiRatioTrainer(new MultiRatioTrainingOptions { Epochs = 0 })).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("Epochs");
        FluentActions.Invoking(() => new MultiRatioTrainer(new MultiRatioTrainingOptions { DistillationWeight = 1.5 })).Should().Throw<ArgumentOutOfRangeException>()
            .Which.ParamName.Should().Be("DistillationWeight");
        FluentActions.Invoking(() => new SandwichObjective(network, distillationWeight: -0.1)).Should().Throw<ArgumentOutOfRangeException>()
            .Which.ParamName.Should().Be("distillationWeight");
    }
}
