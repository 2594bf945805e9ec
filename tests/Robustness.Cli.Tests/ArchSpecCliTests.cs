using FluentAssertions;
using Robustness.Models;
using Xunit;
using static Robustness.Testing.CliRun;

namespace Robustness.Cli.Tests;

/// <summary><c>--spec FILE.json</c>: train and price a CNN given as an architecture spec.</summary>
public sealed class ArchSpecCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("robustness-spec-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);


    private string SpecFile(string json)
    {
        string path = Path.Combine(_dir, "spec.json");
        File.WriteAllText(path, json);
        return path;
    }

    [Fact]
    public async Task A_spec_file_trains_saves_and_gets_its_card()
    {
        string spec = SpecFile("""
            { "stem": { "width": 4 },
              "stages": [ { "block": "basic", "width": 4, "depth": 1, "kernelSize": 5, "activation": "elu" },
                          { "block": "invertedResidual", "width": 8, "depth": 1, "stride": 2, "expansion": 2 } ] }
            """);
        string model = Path.Combine(_dir, "m.safetensors");

        var train = await Run("train", "--synthetic", "100", "--spec", spec, "--epochs", "1", "--batch-size", "25", "--out", model);
        train.Code.Should().Be(0, train.Err);
        using (var loaded = Classifier.Load(model))
        {
            loaded.Spec.Architecture.Should().Be(SpecNetwork.FamilyName);
            ArchSpec.From(loaded.Spec).Stages[0].KernelSize.Should().Be(5);
        }

        var card = await Run("card", "--spec", spec, "--batch-sizes", "1");
        card.Code.Should().Be(0, card.Err);
        card.Out.Should().Contain("| arch-spec");
    }

    [Theory]
    [InlineData("""{ "stages": [] }""", "--spec")]
    [InlineData("""{ "stem": {"width": 4}, "stages": [ { "block": "basic", "width": 4, "depth": 1, "kernelSize": 4 } ] }""", "KernelSize")]
    [InlineData("not json", "--spec")]
    public async Task A_bad_spec_file_is_a_usage_error(string json, string mentioned)
    {
        var run = await Run("card", "--spec", SpecFile(json));
        run.Code.Should().Be(ExitCodes.BadArguments);
        run.Err.Should().Contain(mentioned);
    }

    [Fact]
    public async Task Spec_and_arch_together_are_refused()
    {
        string spec = SpecFile(ArchSpecs.ResNet20(4).ToJson());
        var run = await Run("train", "--synthetic", "100", "--spec", spec, "--arch", "resnet18", "--out", Path.Combine(_dir, "m.safetensors"));
        run.Code.Should().Be(ExitCodes.BadArguments);
        run.Err.Should().Contain("--spec");
    }
}
