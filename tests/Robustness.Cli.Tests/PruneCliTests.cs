using System.Text.Json;
using FluentAssertions;
using Robustness.Cli.Commands;
using Robustness.Data;
using Robustness.Models;
using Robustness.Pruning;
using Xunit;
using static Robustness.Testing.CliRun;

namespace Robustness.Cli.Tests;

/// <summary><c>robustness prune</c>: end to end on tiny data, and its argument errors.</summary>
public sealed class PruneCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("robustness-cli-prune-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);


    // A tiny 4-class 8x8 SmallCnn (untrained: the command's plumbing is under test, not its accuracy) and class folders.
    private (string Model, string Data, string Test) TinyModelAndFolders()
    {
        var sets = SyntheticImageSet.TrainTest(96, 24, seed: 6, size: 8, classes: 4);
        string data = Path.Combine(_dir, "train"), test = Path.Combine(_dir, "test"), model = Path.Combine(_dir, "teacher.safetensors");
        PngImageWriter.Write(sets.Train, data);
        PngImageWriter.Write(sets.Test, test);
        using var teacher = Classifier.Create(new ModelSpec("small-cnn", 4, Width: 4, ImageSize: 8), ChannelStatistics.Of(sets.Train), sets.Train.ClassNames, seed: 2);
        teacher.Save(model);
        return (model, data, test);
    }

    [Fact]
    public async Task Prune_saves_a_model_with_the_exact_sparsity_and_reports_teacher_and_student()
    {
        var (model, data, test) = TinyModelAndFolders();
        string pruned = Path.Combine(_dir, "pruned.safetensors"), reportFolder = Path.Combine(_dir, "prune-report"), report = Path.Combine(reportFolder, "report.json");

        var run = await Run("prune", "--model", model, "--data", data, "--test", test, "--sparsity", "4x", "--method", "pwoa",
            "--profile", "fast", "--admm-epochs", "1", "--retrain-epochs", "1", "--batch-size", "16", "--attack-images", "10", "--no-autoattack",
            "--out", pruned, "--report", reportFolder, "--seed", "3");

        run.Code.Should().Be(0, run.Err);
        ReportAssertions.ShouldBeACompleteReport(reportFolder, "accuracy-sparsity.png", "layer-sparsity.png").Should().Contain("<td>teacher</td>");
        run.Out.Should().Contain("admm epoch 1/1").And.Contain("retrain epoch 1/1").And.Contain("| teacher").And.Contain("| pwoa");
        using var student = Classifier.Load(pruned);
        var sparsity = SparsityReport.Measure(student);
        foreach (var layer in sparsity.Layers)
            layer.Zeros.Should().Be(MagnitudeProjection.PrunedCount(layer.Total, 0.75), $"{layer.Name} is pruned exactly");

        using var json = JsonDocument.Parse(File.ReadAllText(report));
        var root = json.RootElement;
        root.GetProperty("method").GetString().Should().Be("pwoa");
        root.GetProperty("targetSparsity").GetDouble().Should().Be(0.75);
        root.GetProperty("trainImages").GetInt32().Should().Be(96);
        root.GetProperty("testImages").GetInt32().Should().Be(24);
        root.GetProperty("testSource").GetString().Should().Contain("--test");
        root.GetProperty("attackImagesCap").GetInt32().Should().Be(10);
        root.GetProperty("attackedImages").GetInt32().Should().Be(10);
        root.GetProperty("eps").GetString().Should().Be("8/255");
        var layers = root.GetProperty("sparsity").GetProperty("layers");
        layers.GetArrayLength().Should().Be(sparsity.Layers.Count);
        foreach (var layer in layers.EnumerateArray()) layer.GetProperty("sparsity").GetDouble().Should().BeApproximately(0.75, 0.01);
        root.GetProperty("sparsity").GetProperty("overall").GetDouble().Should().BeApproximately(sparsity.Overall, 1e-12);
        foreach (string who in new[] { "teacher", "student" })
        {
            var scores = root.GetProperty(who);
            scores.GetProperty("cleanAccuracy").GetDouble().Should().BeInRange(0, 1);
            scores.GetProperty("images").GetInt64().Should().Be(24);
            var pgd = scores.GetProperty("pgd");
            double attackedClean = (double)pgd.GetProperty("cleanCorrect").GetInt32() / pgd.GetProperty("images").GetInt32();
            scores.GetProperty("pgdAccuracy").GetDouble().Should().BeInRange(0, attackedClean + 1e-9, "robust accuracy is at most the clean accuracy of the attacked images");
            scores.GetProperty("pgd").GetProperty("images").GetInt32().Should().Be(10);
        }
        root.GetProperty("teacher").GetProperty("sparsity").GetDouble().Should().Be(0);
        root.GetProperty("phases").EnumerateArray().Select(p => p.GetProperty("phase").GetString())
            .Should().Equal("load", "admm", "hard-prune", "retrain", "save", "evaluate-teacher", "evaluate-student");
        root.GetProperty("phases").EnumerateArray().Should().OnlyContain(p => p.GetProperty("seconds").GetDouble() >= 0);
        File.ReadAllText(Path.ChangeExtension(report, ".md")).Should().Contain("features.conv1.weight").And.Contain("seconds/epoch");
    }

    [Fact]
    public async Task Without_test_data_a_seeded_part_of_the_data_is_held_out_and_said_so()
    {
        var (model, data, _) = TinyModelAndFolders();
        string pruned = Path.Combine(_dir, "naive.safetensors"), report = Path.Combine(_dir, "n.json");

        var run = await Run("prune", "--model", model, "--data", data, "--sparsity", "0.5", "--method", "magnitude", "--profile", "fast",
            "--retrain-epochs", "1", "--batch-size", "16", "--attack-images", "4", "--no-autoattack", "--out", pruned, "--report", report);

        run.Code.Should().Be(0, run.Err);
        run.Out.Should().Contain("held out");
        using var json = JsonDocument.Parse(File.ReadAllText(report));
        var root = json.RootElement;
        root.GetProperty("method").GetString().Should().Be("magnitude");
        root.GetProperty("testImages").GetInt32().Should().Be(10, "10% of 96, rounded");
        root.GetProperty("trainImages").GetInt32().Should().Be(86);
        root.GetProperty("testSource").GetString().Should().Contain("held out");
        root.GetProperty("student").GetProperty("autoAttackAccuracy").ValueKind.Should().Be(JsonValueKind.Null);
        root.GetProperty("phases").EnumerateArray().Select(p => p.GetProperty("phase").GetString()).Should().NotContain("admm");
        using var student = Classifier.Load(pruned);
        foreach (var layer in SparsityReport.Measure(student).Layers) layer.Zeros.Should().Be(MagnitudeProjection.PrunedCount(layer.Total, 0.5));
    }

    [Fact]
    public void The_held_out_part_is_disjoint_seeded_and_never_empty()
    {
        var all = SyntheticImageSet.Generate(25, seed: 1, size: 8, classes: 4);
        var (train, test) = PruneCommand.HoldOut(all, 0.1, seed: 5);
        (train.Count, test.Count).Should().Be((22, 3));
        var again = PruneCommand.HoldOut(all, 0.1, seed: 5).Test;
        again.Pixels.ToArray().Should().Equal(test.Pixels.ToArray());
        var (_, tiny) = PruneCommand.HoldOut(SyntheticImageSet.Generate(3, seed: 1, size: 8, classes: 2), 0.1, seed: 5);
        tiny.Count.Should().Be(1);
    }

    [Theory]
    [InlineData(new[] { "--data", "D", "--out", "o" }, "--model")]                         // required option missing
    [InlineData(new[] { "--model", "/nonexistent.safetensors", "--data", "D", "--out", "o" }, "does not exist")]
    [InlineData(new[] { "--model", "M", "--data", "D", "--out", "o", "--sparsity", "1.5" }, "--sparsity")]
    [InlineData(new[] { "--model", "M", "--data", "D", "--out", "o", "--sparsity", "0.5x" }, "--sparsity")]
    [InlineData(new[] { "--model", "M", "--data", "D", "--out", "o", "--method", "hydra" }, "hydra")]
    [InlineData(new[] { "--model", "M", "--data", "D", "--out", "o", "--profile", "slow" }, "slow")]
    [InlineData(new[] { "--model", "M", "--data", "D", "--out", "o", "--admm-epochs", "-1" }, "--admm-epochs")]
    [InlineData(new[] { "--model", "M", "--data", "D", "--out", "o", "--retrain-epochs", "-2" }, "--retrain-epochs")]
    [InlineData(new[] { "--model", "M", "--data", "D", "--out", "o", "--batch-size", "1" }, "--batch-size")]
    [InlineData(new[] { "--model", "M", "--data", "D", "--out", "o", "--attack-images", "0" }, "--attack-images")]
    [InlineData(new[] { "--model", "M", "--data", "D", "--out", "o", "--eps", "lots" }, "--eps")]
    [InlineData(new[] { "--model", "M", "--data", "D", "--out", "o", "--device", "tpu" }, "tpu")]
    [InlineData(new[] { "--model", "M", "--data", "/nonexistent-folder", "--out", "o" }, "does not exist")]
    public async Task Bad_arguments_give_one_line_and_exit_code_2(string[] args, string mentioned)
    {
        // Arguments are checked before the model is read, so an empty file stands in for it.
        string model = Path.Combine(_dir, "m.safetensors");
        File.WriteAllBytes(model, []);
        var resolved = args.Select(a => a == "M" ? model : a == "D" ? _dir : a == "o" ? Path.Combine(_dir, "o.safetensors") : a).ToArray();

        var (code, _, err) = await Run(["prune", .. resolved]);

        code.Should().Be(ExitCodes.BadArguments, err);
        err.TrimEnd().Split('\n').Should().ContainSingle().Which.Should().Contain(mentioned);
    }
}
