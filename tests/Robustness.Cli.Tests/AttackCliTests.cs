using System.Text.Json;
using FluentAssertions;
using Robustness.Data;
using Xunit;
using static Robustness.Testing.CliRun;

namespace Robustness.Cli.Tests;

/// <summary>The attack-suite commands: attack, evaluate --autoattack, train --adversarial.</summary>
public sealed class AttackCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("robustness-cli-attack-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);


    private async Task<(string Model, string Data)> TrainedModelAndFolder()
    {
        var sets = SyntheticImageSet.TrainTest(600, 40, seed: 4);
        string data = Path.Combine(_dir, "test");
        PngImageWriter.Write(sets.Test, data);
        string model = Path.Combine(_dir, "model.safetensors");
        var train = await Run("train", "--synthetic", "600", "--width", "8", "--epochs", "3", "--batch-size", "32", "--out", model, "--seed", "4");
        train.Code.Should().Be(0, train.Err);
        return (model, data);
    }

    [Fact]
    public async Task Attack_reports_robust_accuracy_and_saves_adversarials_within_budget_under_the_same_paths()
    {
        var (model, data) = await TrainedModelAndFolder();
        string saved = Path.Combine(_dir, "adv"), report = Path.Combine(_dir, "attack-report");

        var run = await Run("attack", "--model", model, "--data", data, "--attack", "pgd", "--eps", "8/255", "--steps", "5",
            "--save-adversarial", saved, "--report", report, "--budgets", "16/255,2/255");

        run.Code.Should().Be(0, run.Err);
        ReportAssertions.ShouldBeACompleteReport(report, "robust-accuracy.png", "examples.png").Should().Contain("16/255");
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(report, "report.json")));
        json.RootElement.GetProperty("budgets").EnumerateArray().Select(b => b.GetProperty("epsilon").GetDouble() * 255)
            .Should().Equal([2.0, 8.0, 16.0], (a, b) => Math.Abs(a - b) < 1e-6, "the main budget and the sweep, in order");
        double clean = json.RootElement.GetProperty("cleanAccuracy").GetDouble();
        double robust = json.RootElement.GetProperty("robustAccuracy").GetDouble();
        robust.Should().BeLessThan(clean);
        json.RootElement.GetProperty("maxPerturbation").GetDouble().Should().BeLessThanOrEqualTo(8.0 / 255 + 1e-6);

        var original = ImageFolderReader.Read(data).Images;
        var adversarial = ImageFolderReader.Read(saved).Images;
        adversarial.Count.Should().Be(original.Count);
        for (int i = 0; i < original.Count; i++)
        {
            adversarial.GetRelativePath(i).Should().Be(original.GetRelativePath(i));
            var a = original.GetImage(i);
            var b = adversarial.GetImage(i);
            for (int p = 0; p < a.Length; p++) Math.Abs(a[p] - b[p]).Should().BeLessThanOrEqualTo(8);
        }
    }

    [Fact]
    public async Task A_knob_the_attack_does_not_read_is_warned_about()
    {
        string model = Path.Combine(_dir, "w.safetensors"), data = Path.Combine(_dir, "few");
        (await Run("train", "--synthetic", "100", "--width", "2", "--epochs", "1", "--out", model)).Code.Should().Be(0);
        PngImageWriter.Write(SyntheticImageSet.Generate(8, seed: 1), data);

        var run = await Run("attack", "--model", model, "--data", data, "--attack", "fgsm", "--steps", "5", "--search-steps", "2");

        run.Code.Should().Be(0, run.Err);
        run.Err.Should().Contain("fgsm does not read --steps").And.Contain("fgsm does not read --search-steps");
    }

    [Theory]
    [InlineData("--attack", "nonesuch", "nonesuch")]
    [InlineData("--eps", "-1/255", "--eps")]
    [InlineData("--norm", "l7", "--norm")]
    [InlineData("--steps", "0", "--steps")]
    [InlineData("--targeted", "sideways", "--targeted")]
    public async Task Bad_attack_arguments_exit_with_2(string option, string value, string mentioned)
    {
        string model = Path.Combine(_dir, "m.safetensors");
        (await Run("train", "--synthetic", "100", "--width", "2", "--epochs", "1", "--out", model)).Code.Should().Be(0);

        var (code, _, err) = await Run("attack", "--model", model, "--data", _dir, option, value);

        code.Should().Be(ExitCodes.BadArguments);
        err.Should().Contain(mentioned);
    }

    [Fact]
    public async Task Evaluate_with_autoattack_writes_the_robust_report()
    {
        var (model, data) = await TrainedModelAndFolder();
        string report = Path.Combine(_dir, "eval-report");

        var run = await Run("evaluate", "--model", model, "--data", data, "--autoattack", "--eps", "4/255", "--report", report);

        run.Code.Should().Be(0, run.Err);
        run.Out.Should().Contain("apgd-ce").And.Contain("square");
        ReportAssertions.ShouldBeACompleteReport(report, "class-accuracy.png", "autoattack.png").Should().Contain("AutoAttack (linf, eps 4/255)");
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(report, "report.json")));
        var auto = json.RootElement.GetProperty("autoAttack");
        auto.GetProperty("robustCorrect").GetInt32().Should().BeLessThanOrEqualTo(auto.GetProperty("cleanCorrect").GetInt32());
    }

    [Fact]
    public async Task Train_with_pgd_adversarial_training_runs_and_names_its_objective()
    {
        string model = Path.Combine(_dir, "robust.safetensors");
        var run = await Run("train", "--synthetic", "200", "--width", "4", "--epochs", "1", "--adversarial", "pgd", "--eps", "4/255", "--adv-steps", "2", "--out", model);

        run.Code.Should().Be(0, run.Err);
        run.Out.Should().Contain("PGD", Exactly.Once());
        File.Exists(model).Should().BeTrue();
    }
}
