using FluentAssertions;
using Robustness.Cli;
using Robustness.Data;
using Robustness.Models;
using Xunit;
using static Robustness.Testing.CliRun;

namespace Robustness.Efficiency.Tests;

/// <summary><c>robustness multi-ratio train|export|latency</c> through the tool.</summary>
public sealed class MultiRatioCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("robustness-multi-ratio-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);


    [Fact]
    public async Task Train_export_and_latency_run_end_to_end()
    {
        string data = Path.Combine(_dir, "data"), spec = Path.Combine(_dir, "spec.json"), multi = Path.Combine(_dir, "multi.safetensors");
        PngImageWriter.Write(SyntheticImageSet.Generate(120, seed: 2, size: 16, classes: 3), data);
        File.WriteAllText(spec, ArchSpecs.ResNet20(8).ToJson());

        var train = await Run("multi-ratio", "train", "--spec", spec, "--data", data, "--test", data, "--ratios", "1,0.5,0.25",
            "--epochs", "1", "--batch-size", "40", "--out", multi);
        train.Code.Should().Be(0, train.Err);
        train.Out.Should().Contain("epoch 1/1").And.Contain("ratio 0.25:").And.Contain("per-ratio batch norm");

        string half = Path.Combine(_dir, "half.safetensors");
        var export = await Run("multi-ratio", "export", "--model", multi, "--ratio", "0.5", "--out", half);
        export.Code.Should().Be(0, export.Err);
        using (var loaded = Classifier.Load(half)) ArchSpec.From(loaded.Spec).Stages[^1].Width.Should().Be(16);

        var latency = await Run("multi-ratio", "latency", "--model", multi, "--threads", "1", "--factors", "1,0.5", "--repeats", "2", "--requests", "1");
        latency.Code.Should().Be(0, latency.Err);
        latency.Out.Should().Contain("| 1T@100% |").And.Contain("| 1T@50% |").And.Contain("| controller |").And.Contain("| fixed 25% |");

        var wrongRatio = await Run("multi-ratio", "export", "--model", multi, "--ratio", "0.3", "--out", half);
        wrongRatio.Code.Should().Be(2);
        wrongRatio.Err.Should().Contain("1, 0.5, 0.25");
    }

    [Fact]
    public async Task A_teacher_makes_the_robust_version_starting_from_it()
    {
        string data = Path.Combine(_dir, "data"), teacher = Path.Combine(_dir, "teacher.safetensors"), multi = Path.Combine(_dir, "multi.safetensors");
        var images = SyntheticImageSet.Generate(120, seed: 2, size: 16, classes: 3);
        PngImageWriter.Write(images, data);
        using (var model = Classifier.Create(ArchSpecs.ResNet20(8).ToModelSpec(3, 3, 16), Normalization.Identity(3), images.ClassNames, seed: 1))
            model.Save(teacher);

        var run = await Run("multi-ratio", "train", "--teacher", teacher, "--hsic", "--data", data, "--ratios", "1,0.5", "--epochs", "1",
            "--batch-size", "40", "--lr", "0.01", "--out", multi);

        run.Code.Should().Be(0, run.Err);
        run.Out.Should().Contain("robust sandwich").And.Contain("hsic(").And.Contain("ratio 0.5:");
        using var network = MultiRatioNetwork.Load(multi);
        network.Ratios.Should().Equal(1, 0.5);
    }

    [Theory]
    [InlineData(new[] { "train", "--data", "x", "--out", "m" }, "--teacher FILE")]
    [InlineData(new[] { "train", "--spec", "s.json", "--data", "x", "--hsic", "--out", "m" }, "--hsic needs --teacher")]
    [InlineData(new[] { "train", "--spec", "s.json", "--data", "x", "--teacher", "/nonexistent.safetensors", "--out", "m" }, "does not exist")]
    [InlineData(new[] { "export", "--model", "/nonexistent.safetensors", "--ratio", "0.5", "--out", "m" }, "does not exist")]
    public async Task Bad_arguments_are_usage_errors(string[] args, string mentioned)
    {
        var run = await Run(["multi-ratio", .. args]);
        run.Code.Should().Be(2, run.Out + run.Err);
        run.Err.Should().Contain(mentioned);
    }
}
