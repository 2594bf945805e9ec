using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Robustness.Data;
using Robustness.Hosting;
using Robustness.Models;
using Robustness.Training;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;

namespace Robustness.Efficiency.Tests;

/// <summary>The channel slicer: a smaller dense model, fine-tuning that recovers accuracy, and the module's registration.</summary>
public class ChannelSlicerTests(ITestOutputHelper output)
{
    private static TrainTestSets Data() => new(SyntheticImageSet.Generate(400, seed: 3, size: 16, classes: 4), SyntheticImageSet.Generate(200, seed: 4, size: 16, classes: 4));

    private static double Accuracy(Classifier model, ImageSet test) => new Evaluator().Evaluate(model, test).Accuracy;

    private static Classifier TrainedResNet(ImageSet train)
    {
        var model = Classifier.Create(new ModelSpec("resnet18", train.ClassNames.Count, Width: 8, ImageSize: train.Height), seed: 1);
        new Trainer(new TrainingOptions { Epochs = 4, BatchSize = 50, LearningRate = 0.05, Seed = 1 }).Train(model, train);
        return model;
    }

    [Fact]
    public void Slicing_shrinks_the_model_and_fine_tuning_recovers_accuracy()
    {
        using var scope = torch.NewDisposeScope();
        var (train, test) = Data();
        using var model = TrainedResNet(train);
        double full = Accuracy(model, test);

        var sliceOnly = new ChannelSlicer(new ChannelSlicingOptions { Ratio = 0.25 }).Slice(model);
        using var sliced = sliceOnly.Sliced;
        double slicedAccuracy = Accuracy(sliced, test);
        var tuned = new ChannelSlicer(new ChannelSlicingOptions { Ratio = 0.25, FineTuneEpochs = 3, BatchSize = 50, LearningRate = 0.05, Augment = false })
            .Slice(model, train, test);
        using var fineTuned = tuned.Sliced;
        double tunedAccuracy = Accuracy(fineTuned, test);
        output.WriteLine($"accuracy: full {full:P1}, sliced to 25% {slicedAccuracy:P1}, fine-tuned {tunedAccuracy:P1}");

        sliced.Spec.Architecture.Should().Be(SpecNetwork.FamilyName);
        sliced.ParameterCount.Should().BeLessThan(model.ParameterCount / 10, "a quarter of the channels leaves about 1/16 of the weights");
        sliced.Macs.Should().BeLessThan(model.Macs / 10);
        sliceOnly.Kept.KeptFraction.Should().BeApproximately(0.25, 0.01);
        sliceOnly.FineTuning.Should().BeNull();
        tuned.FineTuning!.History.Should().HaveCount(3);
        tunedAccuracy.Should().BeGreaterThan(slicedAccuracy, "fine-tuning the sliced network recovers what slicing lost");
        Accuracy(model, test).Should().Be(full, "the source model is left as it was");
    }

    [Fact]
    public void Bad_options_and_a_missing_training_set_are_refused()
    {
        FluentActions.Invoking(() => new ChannelSlicer(new ChannelSlicingOptions { Ratio = 1.5 })).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("Ratio");
        FluentActions.Invoking(() => new ChannelSlicer(new ChannelSlicingOptions { FineTuneEpochs = -1 })).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("FineTuneEpochs");
        using var model = Classifier.Create(new ModelSpec("resnet18", Width: 4, ImageSize: 16), seed: 1);
        FluentActions.Invoking(() => new ChannelSlicer(new ChannelSlicingOptions { FineTuneEpochs = 1 }).Slice(model)).Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("train");
    }

    [Fact]
    public void The_module_registers_its_selectors_and_command_with_one_extension_method()
    {
        var services = new ServiceCollection();
        services.AddRobustness().AddEfficiency();
        using var provider = services.BuildServiceProvider();
        var catalog = provider.GetRequiredService<ITechniqueCatalog>();
        catalog.Names(ChannelSelectors.Family).Should().Equal("l1-norm", "leading");
        catalog.Create(ChannelSelectors.Family, "leading").Should().BeSameAs(ChannelSelectors.Leading);
        var module = provider.GetServices<RobustnessModule>().Single(m => m.Name == EfficiencyModule.Name);
        module.Techniques.Select(t => t.Name).Should().Equal("l1-norm", "leading");
        module.CommandContributors.Should().HaveCount(2, "slice and multi-ratio");
        module.Assembly.Should().Be("Robustness.Efficiency");
    }

    [Fact]
    public void The_tool_finds_the_module_beside_it()
    {
        ModuleDiscovery.Find().Select(a => a.GetName().Name).Should().Contain("Robustness.Efficiency");
        using var host = Robustness.Cli.CliApplication.CreateHost();
        host.GetServices<RobustnessModule>().Select(m => m.Name).Should().Contain(EfficiencyModule.Name);
    }
}
