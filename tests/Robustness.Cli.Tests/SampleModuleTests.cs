using System.Text.Json;
using FluentAssertions;
using Robustness.Data;
using Robustness.Samples.Module;
using Xunit;
using static Robustness.Testing.CliRun;

namespace Robustness.Cli.Tests;

/// <summary>
/// The sample module (samples/SampleModule/SampleModule.cs) installed by its one extension method: the tool lists it,
/// and its attack, model family and command run with no change to the tool.
/// </summary>
public sealed class SampleModuleTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("robustness-sample-module-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<(int Code, string Out, string Err)> Run(params string[] args) =>
        await RunWith(b => b.AddSampleModule(), args);

    [Fact]
    public async Task The_tool_lists_the_module_and_everything_it_brings()
    {
        var listing = await Run("modules", "--json");

        listing.Code.Should().Be(0, listing.Err);
        using var json = JsonDocument.Parse(listing.Out);
        var modules = json.RootElement.EnumerateArray().ToDictionary(m => m.GetProperty("name").GetString()!);
        modules.Keys.Should().Equal(CliApplication.CoreModuleName, "efficiency", "forensics", "sample");
        var sample = modules["sample"];
        sample.GetProperty("techniques").GetProperty("attack").EnumerateArray().Select(e => e.GetString()).Should().Equal("uniform-noise");
        sample.GetProperty("modelFamilies").EnumerateArray().Select(e => e.GetString()).Should().Equal("mlp");
        sample.GetProperty("commands").EnumerateArray().Select(e => e.GetString()).Should().Equal("noise-robustness");
        modules[CliApplication.CoreModuleName].GetProperty("modelFamilies").EnumerateArray().Select(e => e.GetString()).Should().Contain(["resnet18", "vit"]);
        (await Run("--help")).Out.Should().Contain("noise-robustness").And.Contain("modules");
    }

    [Fact]
    public async Task Its_model_family_trains_its_attack_runs_and_its_command_reports()
    {
        string data = Path.Combine(_dir, "data"), model = Path.Combine(_dir, "mlp.safetensors");
        PngImageWriter.Write(SyntheticImageSet.Generate(80, seed: 2, size: 8, classes: 4), data);

        var train = await Run("train", "--data", data, "--arch", "mlp", "--width", "32", "--epochs", "2", "--batch-size", "16", "--out", model);
        train.Code.Should().Be(0, train.Err);

        var attack = await Run("attack", "--model", model, "--data", data, "--attack", "uniform-noise", "--eps", "16/255", "--queries", "5");
        attack.Code.Should().Be(0, attack.Err);
        attack.Out.Should().Contain("robust accuracy");
        attack.Err.Should().NotContain("does not read");

        var noise = await Run("noise-robustness", "--model", model, "--data", data, "--eps", "4/255,32/255");
        noise.Code.Should().Be(0, noise.Err);
        noise.Out.Should().Contain("clean accuracy").And.Contain("eps 4/255").And.Contain("eps 32/255");

        // The cost card works on a module's model as on the zoo's.
        string cards = Path.Combine(_dir, "card.json");
        var card = await Run("card", "--model", model, "--data", data, "--attack", "fgsm", "--batch-sizes", "1,8", "--json", cards);
        card.Code.Should().Be(0, card.Err);
        card.Out.Should().Contain("| mlp width 32");
        using var json = JsonDocument.Parse(File.ReadAllText(cards));
        json.RootElement[0].GetProperty("macs").GetInt64().Should().Be(8 * 8 * 3 * 32 + 32 * 4, "fc1 and fc2 of the mlp");
    }
}
