using FluentAssertions;
using Robustness.Cli;
using Robustness.Data;
using Xunit;
using static Robustness.Testing.CliRun;

namespace Robustness.Forensics.Tests;

/// <summary><c>robustness forensics zoo</c> run through the tool, which installs the module by discovery.</summary>
public sealed class ForensicsCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("robustness-forensics-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);


    private string Data()
    {
        string data = Path.Combine(_dir, "data");
        if (!Directory.Exists(data)) PngImageWriter.Write(SyntheticImageSet.Generate(60, seed: 2, size: 32, classes: 3), data);
        return data;
    }

    [Fact]
    public async Task Zoo_trains_the_chosen_part_of_the_grid_and_resumes()
    {
        string data = Data(), zoo = Path.Combine(_dir, "zoo");
        string[] args = ["forensics", "zoo", "--data", data, "--test", data, "--out", zoo, "--architectures", "resnet20", "--width", "2", "--kernels", "5",
            "--activations", "tanh", "--sparsities", "0,0.625", "--per-class", "10", "--epochs", "1", "--retrain-epochs", "1", "--rewind-epoch", "0", "--batch-size", "16"];
        var run = await Run(args);
        run.Code.Should().Be(0, run.Err);
        run.Out.Should().Contain("2 victims").And.Contain("on 30 images").And.Contain("resnet20-k5-tanh-s625").And.Contain("conv sparsity 62.5");
        ZooIndex.Read(zoo)!.Victims.Should().HaveCount(2);
        // Each victim's line is written when it is done, in order, before the summary (reported on the training thread).
        int first = run.Out.IndexOf("[1/2]", StringComparison.Ordinal), second = run.Out.IndexOf("[2/2]", StringComparison.Ordinal);
        first.Should().BeGreaterThan(0);
        second.Should().BeGreaterThan(first).And.BeLessThan(run.Out.IndexOf("2 victims in", StringComparison.Ordinal));

        var again = await Run(args);
        again.Code.Should().Be(0, again.Err);
        again.Out.Should().Contain("already trained");

        string records = Path.Combine(_dir, "records");
        var attacks = await Run("forensics", "attacks", "--zoo", zoo, "--data", data, "--out", records, "--only", "fgsm,pgd", "--images", "12", "--batch-size", "6");
        attacks.Code.Should().Be(0, attacks.Err);
        attacks.Out.Should().Contain("Recording 8 attack settings on 2 victims, 12 images each").And.Contain("resnet20-k5-tanh-s0 / pgd-eps16").And.Contain("16 shards");
        AttackRecordSet.Open(records).Shards.Should().HaveCount(16);
        attacks.Out.LastIndexOf(" fooled, ", StringComparison.Ordinal).Should().BeLessThan(attacks.Out.IndexOf("16 shards", StringComparison.Ordinal));
        string report = Path.Combine(_dir, "report");
        var evaluate = await Run("forensics", "evaluate", "--records", records, "--out", report, "--epochs", "1", "--batch-size", "16", "--all-examples",
            "--zoo", zoo, "--transfer-setting", "fgsm-eps16");
        evaluate.Code.Should().Be(0, evaluate.Err);
        evaluate.Out.Should().Contain("In distribution").And.Contain("| fgsm |").And.Contain("Across PGD budgets").And.Contain("sparsity (0/0.625)")
            .And.Contain("Transfer attacks (fgsm-eps16 crafted on each of 2 victims").And.Contain("steps of 16 per epoch");
        File.ReadAllText(Path.Combine(report, "parsing.md")).Should().Contain("![cross-attack matrix](cross-attack.png)").And.Contain("![transfer attacks](transfer.png)");
        File.Exists(Path.Combine(report, "transfer.png")).Should().BeTrue();
        var noSetting = await Run("forensics", "evaluate", "--records", records, "--out", report, "--zoo", zoo, "--transfer-setting", "square-eps8");
        noSetting.Code.Should().Be(2);
        noSetting.Err.Should().Contain("--transfer-setting").And.Contain("pgd-eps8");
        new FileInfo(Path.Combine(report, "cross-attack.png")).Length.Should().BeGreaterThan(1000);
        File.Exists(Path.Combine(report, "cross-budget.png")).Should().BeTrue();
        (await Run("forensics", "evaluate", "--records", zoo, "--out", report)).Err.Should().Contain("no splits.json");
        var denoised = await Run("forensics", "evaluate", "--records", records, "--out", Path.Combine(_dir, "report-denoised"), "--input", "denoised", "--epochs", "1",
            "--batch-size", "16", "--all-examples", "--denoiser-depth", "3", "--denoiser-width", "8", "--denoiser-epochs", "1");
        denoised.Code.Should().Be(0, denoised.Err);
        denoised.Out.Should().Contain("training the denoiser").And.Contain("Input: denoised");

        string parser = Path.Combine(_dir, "parser.safetensors");
        var train = await Run("forensics", "train", "--records", records, "--out", parser, "--input", "adversarial", "--epochs", "1", "--all-examples");
        train.Code.Should().Be(0, train.Err);
        train.Out.Should().Contain("Saved the parser (sparsity; input adversarial)");
        var parsed = await Run("forensics", "parse", "--parser", parser, Path.Combine(data, "horizontal-grating"));
        parsed.Code.Should().Be(0, parsed.Err);
        parsed.Out.Should().Contain("| image | sparsity |");
        parsed.Out.Split('\n').Count(l => l.StartsWith("| ") && l.Contains(".png")).Should().Be(Directory.GetFiles(Path.Combine(data, "horizontal-grating")).Length);

        string perturbationParser = Path.Combine(_dir, "perturbation.safetensors");
        (await Run("forensics", "train", "--records", records, "--out", perturbationParser, "--input", "perturbation", "--epochs", "1", "--all-examples")).Code.Should().Be(0);
        var noClean = await Run("forensics", "parse", "--parser", perturbationParser, Path.Combine(data, "horizontal-grating"));
        noClean.Code.Should().Be(2);
        noClean.Err.Should().Contain("clean");
        (await Run("forensics", "parse", "--parser", perturbationParser, Path.Combine(data, "horizontal-grating"), "--clean", Path.Combine(data, "horizontal-grating"))).Code.Should().Be(0);

        var bad = await Run("forensics", "attacks", "--zoo", zoo, "--data", data, "--out", records, "--only", "boundary");
        bad.Code.Should().Be(2);
        bad.Err.Should().Contain("boundary");
    }

    [Fact]
    public async Task The_module_appears_in_the_tool()
    {
        var modules = await Run("modules");
        modules.Out.Should().Contain("forensics");
        var help = await Run("--help");
        help.Out.Should().Contain("forensics");
    }

    [Fact]
    public async Task Protection_runs_the_study_and_names_bad_settings()
    {
        string data = Data(), study = Path.Combine(_dir, "study");
        string[] args = ["forensics", "protection", "--data", data, "--images", data, "--out", study, "--denoiser-depth", "3", "--denoiser-width", "8", "--denoiser-epochs", "1",
            "--architectures", "resnet9,vgg11", "--checkpoints", "1,2",
            "--epochs", "2", "--width", "4", "--protect", "12", "--iterations", "1", "--parser-epochs", "1", "--parser-batch-size", "16"];
        var run = await Run(args);
        run.Code.Should().Be(0, run.Err);
        run.Out.Should().Contain("Protection parsing: 4 protectors (resnet9, vgg11 x K = 1, 2), 12 images each").And.Contain("| vgg11-k2 |").And.Contain("exact protector (chance)");
        run.Out.Should().Contain("steps of 16 per epoch").And.Contain("batch 16");
        File.Exists(Path.Combine(study, "protection.md")).Should().BeTrue();
        File.Exists(Path.Combine(study, "confusion-perturbation.png")).Should().BeTrue();
        File.Exists(Path.Combine(study, "confusion-denoised.png")).Should().BeTrue();

        var tooMany = await Run([.. args[..^16], "--checkpoints", "1,5", "--epochs", "2"]);
        tooMany.Code.Should().Be(2);
        tooMany.Err.Should().Contain("--checkpoints").And.Contain("[1, 2]");
        // Each bad setting (given once, in place of a good one) is refused naming its option and what was wrong (exit code 2).
        foreach (var (option, value, named) in new[] { ("--architectures", "resnet50,vgg11", "resnet50"), ("--eps", "lots", "lots"), ("--denoiser-depth", "1", ">= 2"),
                     ("--parser-batch-size", "0", ">= 1"), ("--parser-lr", "0", "> 0") })
        {
            var head = args[..^16];
            int at = Array.IndexOf(head, option);
            var bad = await Run(at >= 0 ? [.. head[..(at + 1)], value, .. head[(at + 2)..]] : [.. head, option, value]);
            bad.Code.Should().Be(2, option);
            bad.Err.Should().Contain(option).And.Contain(named);
        }
    }

    [Fact]
    public async Task Import_registers_a_folder_of_models_as_a_zoo()
    {
        string models = Path.Combine(_dir, "models");
        Directory.CreateDirectory(models);
        var classes = new[] { "a", "b", "c" };
        foreach (var name in new[] { "dense", "other" })
        {
            using var model = Robustness.Classifier.Create(new Robustness.Models.ModelSpec("small-cnn", 3, 4, ImageSize: 32), Robustness.Normalization.Cifar10, classes, seed: 1);
            model.Save(Path.Combine(models, name + ".safetensors"));
        }
        var run = await Run("forensics", "import", "--models", models, "--out", Path.Combine(_dir, "imported"));
        run.Code.Should().Be(0, run.Err);
        run.Out.Should().Contain("dense: small-cnn, conv sparsity 0.0 %").And.Contain("2 victims in");
        var missing = await Run("forensics", "import", "--models", Path.Combine(models, "nothing.safetensors"), "--out", Path.Combine(_dir, "imported"));
        missing.Code.Should().Be(2);
        missing.Err.Should().Contain("--models").And.Contain("does not exist");
    }

    [Theory]
    [InlineData(new[] { "--kernels", "4" }, "--kernels")]
    [InlineData(new[] { "--architectures", "resnet99" }, "resnet99")]
    [InlineData(new[] { "--activations", "gelu" }, "gelu")]
    [InlineData(new[] { "--sparsities", "1" }, "--sparsities")]
    [InlineData(new[] { "--grid", "huge" }, "huge")]
    [InlineData(new[] { "--per-class", "0" }, "--per-class")]
    [InlineData(new[] { "--design", "half" }, "half")]
    [InlineData(new[] { "--design", "latin", "--kernels", "3" }, "as many kernel sizes, activations and sparsities")]
    public async Task Bad_arguments_are_usage_errors(string[] extra, string mentioned)
    {
        var run = await Run(["forensics", "zoo", "--data", Data(), "--out", Path.Combine(_dir, "z"), .. extra]);
        run.Code.Should().Be(2, run.Out + run.Err);
        run.Err.Should().Contain(mentioned);
    }
}
