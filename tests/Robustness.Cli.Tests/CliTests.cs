using System.Text.Json;
using FluentAssertions;
using Robustness.Data;
using Xunit;
using static Robustness.Testing.CliRun;

namespace Robustness.Cli.Tests;

public sealed class CliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("robustness-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);


    [Theory]
    [InlineData(new[] { "train", "--synthetic", "100" }, "--out")]                                  // required option missing
    [InlineData(new[] { "train", "--synthetic", "100", "--data", "x", "--out", "m" }, "exactly one")]
    [InlineData(new[] { "train", "--synthetic", "100", "--epochs", "0", "--out", "m" }, "--epochs")]
    [InlineData(new[] { "train", "--synthetic", "100", "--lr", "-1", "--out", "m" }, "--lr")]
    [InlineData(new[] { "train", "--synthetic", "100", "--device", "tpu", "--out", "m" }, "tpu")]
    [InlineData(new[] { "train", "--synthetic", "100", "--schedule", "weird", "--out", "m" }, "weird")]
    [InlineData(new[] { "train", "--synthetic", "100", "--arch", "resnet9000", "--out", "m" }, "resnet9000")]
    [InlineData(new[] { "train", "--no-such-option" }, "--no-such-option")]
    [InlineData(new[] { "evaluate", "--model", "/nonexistent.safetensors", "--data", "/tmp" }, "does not exist")]
    [InlineData(new[] { "demo", "--epochs", "-3" }, "--epochs")]
    [InlineData(new[] { "frobnicate" }, "frobnicate")]
    public async Task Bad_arguments_give_one_line_and_exit_code_2(string[] args, string mentioned)
    {
        var (code, _, err) = await Run(args);

        code.Should().Be(ExitCodes.BadArguments);
        err.TrimEnd().Split('\n').Should().ContainSingle().Which.Should().Contain(mentioned);
    }

    [Fact]
    public async Task Train_then_evaluate_a_folder_writes_a_model_checkpoints_and_a_report()
    {
        // A class-folder tree written from the synthetic set (alphabetical folder order differs from the model's).
        var sets = SyntheticImageSet.TrainTest(300, 100, seed: 3);
        string trainDir = Path.Combine(_dir, "train"), testDir = Path.Combine(_dir, "test");
        PngImageWriter.Write(sets.Train, trainDir);
        PngImageWriter.Write(sets.Test, testDir);
        string model = Path.Combine(_dir, "model.safetensors"), checkpoints = Path.Combine(_dir, "ckpt"), report = Path.Combine(_dir, "r.json");

        string trainReport = Path.Combine(_dir, "train-report");
        var train = await Run("train", "--data", trainDir, "--test", testDir, "--width", "4", "--epochs", "2", "--batch-size", "32",
            "--checkpoints", checkpoints, "--out", model, "--seed", "1", "--report", trainReport);
        train.Code.Should().Be(0, train.Err);
        ReportAssertions.ShouldBeACompleteReport(trainReport, "loss.png", "accuracy.png").Should().Contain("Training: small-cnn");
        using (var history = JsonDocument.Parse(File.ReadAllText(Path.Combine(trainReport, "report.json"))))
        {
            var epochs = history.RootElement.GetProperty("history");
            epochs.GetArrayLength().Should().Be(2);
            epochs[1].GetProperty("test").GetProperty("total").GetInt64().Should().Be(100);
        }
        File.Exists(model).Should().BeTrue();
        Directory.GetFiles(checkpoints, "epoch-*.safetensors").Should().HaveCount(2);
        train.Out.Should().Contain("epoch 2/2");

        var evaluate = await Run("evaluate", "--model", model, "--data", testDir, "--report", report);
        evaluate.Code.Should().Be(0, evaluate.Err);
        evaluate.Err.Should().Contain("old meaning of --report", "a .json path is still accepted for one release, with a warning");
        File.Exists(Path.Combine(_dir, "r.md")).Should().BeTrue("the rest of the report goes beside the old .json path");
        ReportAssertions.ShouldBeSelfContained(File.ReadAllText(Path.Combine(_dir, "r.html")), images: 1);
        File.Exists(Path.Combine(_dir, "r-class-accuracy.png")).Should().BeTrue();
        evaluate.Out.Should().Contain("Accuracy").And.Contain("rings");
        using var json = JsonDocument.Parse(File.ReadAllText(report));
        json.RootElement.GetProperty("images").GetInt32().Should().Be(100);
        json.RootElement.GetProperty("accuracy").GetProperty("total").GetInt64().Should().Be(100);
    }

    [Fact]
    public async Task Report_naming_an_existing_file_is_refused_before_any_work()
    {
        string file = Path.Combine(_dir, "notes.txt"), model = Path.Combine(_dir, "never.safetensors");
        File.WriteAllText(file, "mine");

        var (code, _, err) = await Run("train", "--synthetic", "20", "--epochs", "1", "--out", model, "--report", file);

        code.Should().Be(ExitCodes.BadArguments);
        err.Should().Contain("--report").And.Contain("is a file; give a folder");
        File.ReadAllText(file).Should().Be("mine");
        File.Exists(model).Should().BeFalse();
    }

    [Fact]
    public async Task Evaluate_refuses_a_folder_whose_classes_the_model_does_not_know()
    {
        var sets = SyntheticImageSet.TrainTest(100, 40, seed: 3, classes: 4);
        string model = Path.Combine(_dir, "model.safetensors");
        (await Run("train", "--synthetic", "100", "--width", "4", "--epochs", "1", "--out", model)).Code.Should().Be(0);
        var other = new ImageSet(sets.Test.Pixels, sets.Test.Labels, 3, 32, 32, ["a", "b", "c", "zebra"]);
        string testDir = Path.Combine(_dir, "odd");
        PngImageWriter.Write(other, testDir);

        var (code, _, err) = await Run("evaluate", "--model", model, "--data", testDir);

        code.Should().Be(ExitCodes.Failure);
        err.Should().Contain("zebra");
    }

    [Fact]
    public async Task Demo_runs_the_main_job_end_to_end_and_writes_its_report()
    {
        string outDir = Path.Combine(_dir, "demo");
        var (code, output, err) = await Run("demo", "--out", outDir, "--train-images", "400", "--test-images", "100", "--epochs", "2", "--width", "4",
            "--image-size", "16", "--iterations", "3");

        code.Should().Be(0, err);
        output.Should().Contain("test accuracy").And.Contain("SEP takes all 2");
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "report.json")));
        json.RootElement.GetProperty("checkpointEpochs").EnumerateArray().Select(e => e.GetInt32()).Should().Equal(0, 1);
        File.Exists(Path.Combine(outDir, "source-model.safetensors")).Should().BeTrue();
        // The main job: the clean folder, the SEP-protected folder (complete, within budget), victims, the report.
        var protection = json.RootElement.GetProperty("protection");
        protection.GetProperty("checkpointEpochs").EnumerateArray().Select(e => e.GetInt32()).Should().Equal(0, 1);
        foreach (var victim in new[] { "cleanVictimAccuracy", "randomNoiseVictimAccuracy", "sepVictimAccuracy" })
            protection.GetProperty(victim).GetDouble().Should().BeInRange(0, 1);
        Directory.GetFiles(Path.Combine(outDir, "protected-sep"), "*.png", SearchOption.AllDirectories).Should().HaveCount(400);
        File.Exists(Path.Combine(outDir, "report", "report.md")).Should().BeTrue();
        File.Exists(Path.Combine(outDir, "report", "victim-accuracy.png")).Should().BeTrue();
        (await Run("verify", "--input", Path.Combine(outDir, "data", "train"), "--output", Path.Combine(outDir, "protected-sep"))).Code.Should().Be(0);

        var again = await Run("demo", "--out", outDir, "--train-images", "400", "--test-images", "100", "--epochs", "1", "--width", "4",
            "--image-size", "16", "--iterations", "2");
        again.Code.Should().Be(0, "running the demo twice into the same folder must work: {0}", again.Err);
        Directory.GetFiles(Path.Combine(outDir, "checkpoints"), "epoch-*.safetensors").Should().ContainSingle();
    }

    [Fact]
    public async Task The_same_seed_trains_the_same_model()
    {
        string a = Path.Combine(_dir, "a.safetensors"), b = Path.Combine(_dir, "b.safetensors");
        (await Run("train", "--synthetic", "200", "--width", "4", "--epochs", "1", "--seed", "5", "--out", a)).Code.Should().Be(0);
        (await Run("train", "--synthetic", "200", "--width", "4", "--epochs", "1", "--seed", "5", "--out", b)).Code.Should().Be(0);

        File.ReadAllBytes(a).Should().Equal(File.ReadAllBytes(b));
    }
}
