using System.CommandLine;
using FluentAssertions;
using Robustness.Attacks;
using Robustness.Cli.Abstractions;
using Robustness.Hosting;
using Robustness.Models;
using Robustness.Protection;
using Xunit;
using static Robustness.Testing.CliRun;

namespace Robustness.Cli.Tests;

/// <summary>The tool is a host: techniques and commands registered by another assembly (this one) appear and run.</summary>
public sealed class HostTests
{
    private static async Task<(int Code, string Out, string Err)> Run(Action<RobustnessBuilder>? configure, params string[] args) =>
        await RunWith(configure, args);

    // A module's registration: a protector under a new name, and a command that lists what the catalogue knows.
    private static void Module(RobustnessBuilder builder) => builder
        .AddTechnique(TechniqueFamily.Protectors, "test-noise", "test: random noise under another name",
            _ => new ProtectorDefinition("test-noise", "test: random noise under another name", NeedsCheckpoints: false,
                s => new RandomNoiseProtector(new RandomNoiseOptions { Epsilon = s.Epsilon, Seed = s.Seed })))
        .AddCommand(context =>
        {
            var family = new Option<string>("--family") { DefaultValueFactory = _ => "protector" };
            var command = new Command("list-techniques", "test: list the catalogue's techniques of a family") { family };
            command.SetAction(parse =>
            {
                var wanted = context.Catalog.Families.Single(f => f.Name == parse.GetValue(family));
                foreach (string name in context.Catalog.Names(wanted)) context.Output.WriteLine(name);
                return 0;
            });
            return command;
        });

    [Fact]
    public async Task A_command_registered_by_another_assembly_is_in_help_and_runs_with_the_catalogue()
    {
        var help = await Run(Module, "--help");
        help.Out.Should().Contain("list-techniques").And.Contain("doctor").And.Contain("protect");

        var list = await Run(Module, "list-techniques");

        list.Code.Should().Be(0, list.Err);
        list.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Should().Contain(["sep", "random", "test-noise"]);
    }

    [Fact]
    public async Task A_technique_registered_by_another_assembly_is_offered_by_the_built_in_command()
    {
        var help = await Run(Module, "protect", "--help");

        help.Out.Should().Contain("test-noise");
        (await Run(null, "protect", "--help")).Out.Should().NotContain("test-noise");
    }

    [Fact]
    public void A_technique_of_the_wrong_type_is_refused_when_it_is_registered_not_when_it_is_built()
    {
        var act = () => CliApplication.CreateHost(b => b.AddTechnique(TechniqueFamily.Attacks, "not-an-attack", "test", _ => "a string"));

        act.Should().Throw<ArgumentException>().WithMessage("*attack*AttackDefinition*String*");
    }

    [Fact]
    public void Two_commands_of_one_name_are_refused_with_both_named()
    {
        using var host = CliApplication.CreateHost(b => b.AddCommand(_ => new Command("doctor", "a second doctor")));

        var act = () => CliApplication.BuildRootCommand(TextWriter.Null, TextWriter.Null, host);

        act.Should().Throw<InvalidOperationException>().WithMessage("*'doctor'*");
    }

    [Fact]
    public void The_standard_autoattack_comes_from_the_catalogue()
    {
        using var host = CliApplication.CreateHost();
        var catalog = (ITechniqueCatalog)host.GetService(typeof(ITechniqueCatalog))!;

        var evaluator = catalog.StandardAutoAttack(Norm.Linf, 8.0 / 255);

        evaluator.Attacks.Select(a => a.Name).Should().Equal("apgd-ce", "apgd-t", "fab-t", "square");
    }

    [Fact]
    public async Task A_model_family_registered_by_another_assembly_trains_and_loads_through_the_tool()
    {
        // A module's network: here a SmallCnn under its own name, with a parameter of its own that must survive the file.
        static void WithFamily(RobustnessBuilder builder) => builder.AddModelFamily(new DelegateModelFamily("test-cnn", "test: a module's network",
            spec => new SmallCnn(spec.Classes, spec.Width == 0 ? 4 : spec.Width, spec.InputChannels)));
        string folder = Path.Combine(Path.GetTempPath(), "robustness-host-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            string model = Path.Combine(folder, "m.safetensors"), data = Path.Combine(folder, "data");
            Robustness.Data.PngImageWriter.Write(Robustness.Data.SyntheticImageSet.Generate(32, seed: 1, size: 16, classes: 4), data);
            (await Run(WithFamily, "train", "--help")).Out.Should().Contain("test-cnn");

            var train = await Run(WithFamily, "train", "--data", data, "--arch", "test-cnn", "--width", "4", "--epochs", "1", "--out", model);
            train.Code.Should().Be(0, train.Err);
            using (var loaded = Classifier.Load(model, families: ModelFamilyRegistry.BuiltIn.With(new DelegateModelFamily("test-cnn", "t", s => new SmallCnn(s.Classes, s.Width, s.InputChannels)))))
                loaded.Spec.Architecture.Should().Be("test-cnn");

            var withModule = await Run(WithFamily, "evaluate", "--model", model, "--data", data);
            withModule.Code.Should().Be(0, withModule.Err);
            var withoutModule = await Run(null, "evaluate", "--model", model, "--data", data);
            withoutModule.Code.Should().NotBe(0);
            withoutModule.Err.Should().Contain("Unknown architecture 'test-cnn'");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
