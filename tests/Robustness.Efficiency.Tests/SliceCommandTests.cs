using FluentAssertions;
using Robustness.Cli;
using Robustness.Data;
using Robustness.Models;
using Xunit;
using static Robustness.Testing.CliRun;

namespace Robustness.Efficiency.Tests;

/// <summary><c>robustness slice</c> run through the tool, which installs the module by discovery.</summary>
public sealed class SliceCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("robustness-slice-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);


    private async Task<(string Model, string Data)> TrainedModel(string arch)
    {
        string data = Path.Combine(_dir, "data"), model = Path.Combine(_dir, $"{arch}.safetensors");
        if (!Directory.Exists(data)) PngImageWriter.Write(SyntheticImageSet.Generate(120, seed: 2, size: 16, classes: 3), data);
        var train = await Run("train", "--data", data, "--arch", arch, "--width", "4", "--epochs", "1", "--batch-size", "40", "--out", model);
        train.Code.Should().Be(0, train.Err);
        return (model, data);
    }

    [Fact]
    public async Task Slice_saves_a_smaller_model_and_prints_both_cards()
    {
        var (model, data) = await TrainedModel("resnet18");
        string sliced = Path.Combine(_dir, "sliced.safetensors");

        var run = await Run("slice", "--model", model, "--ratio", "0.5", "--data", data, "--test", data, "--epochs", "1", "--batch-size", "40",
            "--batch-sizes", "1", "--out", sliced);

        run.Code.Should().Be(0, run.Err);
        run.Out.Should().Contain("l1-norm").And.Contain("fine-tuned 1 epochs").And.Contain("| resnet18").And.Contain("| arch-spec").And.Contain("fewer MACs");
        using var loaded = Classifier.Load(sliced);
        loaded.Spec.Architecture.Should().Be(SpecNetwork.FamilyName);
        ArchSpec.From(loaded.Spec).Stages[^1].Width.Should().Be(16, "ResNet-18 width 4 ends at 32 channels; half are kept");
        loaded.ClassNames.Should().HaveCount(3);
    }

    [Theory]
    [InlineData("resnet18", new[] { "--ratio", "0" }, "--ratio")]
    [InlineData("resnet18", new[] { "--epochs", "1" }, "--data")]
    [InlineData("resnet18", new[] { "--selector", "random" }, "random")]
    [InlineData("small-cnn", new string[0], "--model")]
    public async Task Bad_arguments_are_usage_errors(string arch, string[] extra, string mentioned)
    {
        var (model, _) = await TrainedModel(arch);
        var run = await Run(["slice", "--model", model, "--out", Path.Combine(_dir, "x.safetensors"), .. extra]);
        run.Code.Should().Be(2, run.Out + run.Err);
        run.Err.Should().Contain(mentioned);
        File.Exists(Path.Combine(_dir, "x.safetensors")).Should().BeFalse();
    }
}
