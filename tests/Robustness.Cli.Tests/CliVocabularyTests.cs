using System.CommandLine;
using FluentAssertions;
using Xunit;

namespace Robustness.Cli.Tests;

/// <summary>One option vocabulary over every command, the modules' too: the preferred spellings and the old ones both parse.</summary>
public sealed class CliVocabularyTests
{
    private static RootCommand Root()
    {
        var services = CliApplication.CreateHost();
        return CliApplication.BuildRootCommand(TextWriter.Null, TextWriter.Null, services);
    }

    private static IEnumerable<Command> All(Command command) => command.Subcommands.SelectMany(All).Prepend(command);

    [Fact]
    public void Every_option_of_a_vocabulary_meaning_answers_to_every_spelling_of_it()
    {
        var root = Root();
        int checkedOptions = 0;
        foreach (var command in All(root))
            foreach (var option in command.Options)
            {
                var term = CliVocabulary.Terms.FirstOrDefault(t => t.Spellings.Contains(option.Name));
                if (term is null || command.Options.Count(o => term.Spellings.Contains(o.Name)) > 1) continue;
                option.Aliases.Append(option.Name).Should().Contain(term.Spellings, $"'{command.Name} {option.Name}'");
                checkedOptions++;
            }
        checkedOptions.Should().BeGreaterThan(20, "train, evaluate, attack, protect, prune, import and the modules' commands all take inputs and outputs");
    }

    [Theory]
    [InlineData("evaluate -m model.safetensors -i data")]
    [InlineData("evaluate --model model.safetensors --data data")]
    [InlineData("train --input data -o model.safetensors")]
    [InlineData("protect --data in --out protected")]
    [InlineData("protect -i in -o protected --iterations 30 --steps 20")]
    [InlineData("attack -m m -i d --method pgd --iterations 10")]
    [InlineData("attack -m m -i d --attack pgd --steps 10")]
    [InlineData("prune -m m -i d -o p --method pwoa")]
    [InlineData("import -w w.pth --arch resnet18 --classes 10 --normalization cifar10 --output m.safetensors")]
    [InlineData("forensics zoo -i train -o zoo")]
    [InlineData("slice -m m -o s")]
    public void Old_and_new_spellings_both_parse(string line)
    {
        var parse = Root().Parse(line);

        parse.Errors.Should().BeEmpty();
    }

    [Fact]
    public void Protect_keeps_its_two_loop_counts_apart()
    {
        var protect = Root().Subcommands.Single(c => c.Name == "protect");

        protect.Options.Single(o => o.Name == "--iterations").Aliases.Should().NotContain("--steps");
        protect.Options.Single(o => o.Name == "--steps").Aliases.Should().NotContain("--iterations");
    }

    [Theory]
    [InlineData("attack", "--attack", "pgd", "square")]
    [InlineData("prune", "--method", "pwoa", "magnitude")]
    [InlineData("protect", "--method", "sep", "sep-fa-vr")]
    [InlineData("train", "--arch", "small-cnn", "resnet18")]
    [InlineData("attack", "--norm", "linf", "l2")]
    [InlineData("train", "--schedule", "sep", "cosine")]
    public void Fixed_choice_options_declare_their_values_so_help_and_completion_list_them(string commandName, string optionName, string first, string second)
    {
        var option = Root().Subcommands.Single(c => c.Name == commandName).Options.Single(o => o.Name == optionName || o.Aliases.Contains(optionName));

        var completions = option.GetCompletions(System.CommandLine.Completions.CompletionContext.Empty).Select(c => c.Label).ToArray();

        completions.Should().Contain([first, second]);
    }

    [Fact]
    public async Task A_value_outside_the_allowed_ones_names_the_option()
    {
        var (code, _, err) = await Robustness.Testing.CliRun.Run("attack", "--model", "m", "--data", "d", "--attack", "pgdx");

        code.Should().Be(ExitCodes.BadArguments);
        err.Should().StartWith("robustness: --attack: Argument 'pgdx' not recognized. Must be one of:").And.Contain("'pgd'");
    }
}
