using FluentAssertions;
using Robustness.Models;
using TorchSharp;
using Xunit;
using static Robustness.Testing.CliRun;

namespace Robustness.Cli.Tests;

/// <summary>
/// <c>robustness import</c> on the fixtures Debian's PyTorch wrote (tests/Robustness.Tests/Models/Fixtures, see
/// benchmarks/reference/make_import_fixtures.py): the saved model gives PyTorch's logits; what does not fit says so.
/// </summary>
public sealed class ImportCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("robustness-import-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Fixture(string name)
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Robustness.sln"))) directory = directory.Parent;
        return Path.Combine(directory?.FullName ?? throw new DirectoryNotFoundException("Robustness.sln not found above the test binaries."),
            "tests", "Robustness.Tests", "Models", "Fixtures", name);
    }


    [Fact]
    public async Task A_pth_state_dict_imports_into_a_model_file_with_PyTorchs_logits()
    {
        string model = Path.Combine(_dir, "imported.safetensors");
        string names = "airplane,automobile,bird,cat,deer,dog,frog,horse,ship,truck";

        var result = await Run("import", "-w", Fixture("resnet18_w16.pth"), "--arch", "resnet18", "--width", "16",
            "--classes", names, "--normalization", "cifar10", "-o", model);

        result.Code.Should().Be(0, result.Err);
        result.Out.Should().Contain("Loaded 122 tensors").And.Contain("TorchZip");
        using var scope = torch.NewDisposeScope();
        using var classifier = Classifier.Load(model);
        classifier.ClassNames.Should().Equal(names.Split(','));
        classifier.Normalization.Should().Be(Normalization.Cifar10);
        var (io, _) = SafeTensors.Load(Fixture("resnet18_w16_io.safetensors"));
        double difference = (classifier.Forward(io["input"]) - io["logits"]).abs().max().item<float>();
        difference.Should().BeLessThan(1e-4);
    }

    [Fact]
    public async Task Check_measures_the_imported_models_accuracy_on_a_labelled_folder()
    {
        var images = Robustness.Data.SyntheticImageSet.Generate(40, seed: 2);
        string folder = Path.Combine(_dir, "check");
        Robustness.Data.PngImageWriter.Write(images, folder);

        var result = await Run("import", "-w", Fixture("resnet18_w16.pth"), "--arch", "resnet18", "--width", "16",
            "--classes", string.Join(",", images.ClassNames), "--normalization", "cifar10", "--check", folder, "-o", Path.Combine(_dir, "m.safetensors"));

        result.Code.Should().Be(0, result.Err);
        result.Out.Should().MatchRegex(@"Accuracy \d+\.\d\d ?% \(\d+/40\)");
    }

    [Fact]
    public async Task A_vit_with_timm_names_imports_with_its_family_parameters()
    {
        string model = Path.Combine(_dir, "vit.safetensors");

        var result = await Run("import", "-w", Fixture("vit_w48_d3.pth"), "--arch", "vit", "--width", "48", "--depth", "3", "--param", "heads=3",
            "--classes", "10", "--normalization", "none", "-o", model);

        result.Code.Should().Be(0, result.Err);
        using var scope = torch.NewDisposeScope();
        using var classifier = Classifier.Load(model);
        var (io, _) = SafeTensors.Load(Fixture("vit_w48_d3_io.safetensors"));
        ((double)(classifier.Forward(io["input"]) - io["logits"]).abs().max().item<float>()).Should().BeLessThan(1e-4);
    }

    [Fact]
    public async Task Weights_that_do_not_fit_list_what_differs_and_write_nothing()
    {
        string model = Path.Combine(_dir, "wrong.safetensors");

        var result = await Run("import", "-w", Fixture("resnet18_w16.pth"), "--arch", "resnet18", "--width", "32",
            "--classes", "10", "--normalization", "cifar10", "-o", model);

        result.Code.Should().Be(ExitCodes.Failure);
        result.Err.Should().Contain("does not fit resnet18 (width 32, 10 classes)").And.Contain("mis-shaped [conv1.weight: file [16, 3, 3, 3], network [32, 3, 3, 3]");
        File.Exists(model).Should().BeFalse();
    }

    [Theory]
    [InlineData(new[] { "--classes", "10", "--normalization", "cifar10" }, "--arch NAME or --spec")]
    [InlineData(new[] { "--arch", "resnet18", "--classes", "1", "--normalization", "cifar10" }, "--classes")]
    [InlineData(new[] { "--arch", "resnet18", "--classes", "a,b,a", "--normalization", "cifar10" }, "'a' twice")]
    [InlineData(new[] { "--arch", "resnet18", "--classes", "10", "--normalization", "custom", "--mean", "0.5,0.5,0.5" }, "--std")]
    [InlineData(new[] { "--arch", "resnet18", "--classes", "10", "--normalization", "cifar10", "--mean", "0.5" }, "--normalization custom")]
    [InlineData(new[] { "--arch", "resnet18", "--classes", "10", "--normalization", "weird" }, "weird")]
    [InlineData(new[] { "--arch", "resnet9000", "--classes", "10", "--normalization", "none" }, "resnet9000")]
    [InlineData(new[] { "--arch", "vit", "--classes", "10", "--normalization", "none", "--param", "heads" }, "NAME=VALUE")]
    public async Task Bad_arguments_give_one_line_naming_the_option(string[] args, string mentioned)
    {
        var result = await Run(["import", "-w", Fixture("resnet18_w16.pth"), "-o", Path.Combine(_dir, "m.safetensors"), .. args]);

        result.Code.Should().Be(ExitCodes.BadArguments);
        result.Err.TrimEnd().Split('\n').Should().ContainSingle().Which.Should().Contain(mentioned);
    }
}
