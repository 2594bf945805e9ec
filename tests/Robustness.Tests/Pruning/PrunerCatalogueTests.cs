using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Robustness.Hosting;
using Robustness.Pruning;
using Robustness.Training;
using Xunit;

namespace Robustness.Tests.Pruning;

/// <summary>The pruners by name: built-in definitions, the settings they read, and the catalogue registration.</summary>
public class PrunerCatalogueTests
{
    [Fact]
    public void Every_built_in_pruner_is_listed_and_reports_its_own_name()
    {
        BuiltInPruners.All.Select(d => d.Name).Should().Equal("pwoa", "pwoa-distill-only", "pwoa-hsic-only", "magnitude", "adversarial");
        var settings = new PrunerSettings { Sparsity = 0.5, Profile = PruningProfile.Fast, Seed = 3 };
        foreach (var definition in BuiltInPruners.All)
        {
            var pruner = definition.Build(settings);
            pruner.Name.Should().Be(definition.Name);
            pruner.Sparsity.Should().Be(0.5);
            BuiltInPruners.Get(definition.Name.ToUpperInvariant() + " ").Should().BeSameAs(definition);
        }
    }

    [Fact]
    public void The_ablations_and_baselines_are_the_settings_they_claim()
    {
        var settings = new PrunerSettings { Profile = PruningProfile.Fast, AdmmEpochs = 2, RetrainEpochs = 3, BatchSize = 32, Seed = 5 };
        var pwoa = (Pwoa)BuiltInPruners.Get("pwoa").Build(settings);
        // Records compare augmentations by reference (each profile call makes a new one), so they are compared by value here.
        pwoa.Options.Should().BeEquivalentTo(PwoaOptions.FastCpu(0.75) with { AdmmEpochs = 2, RetrainEpochs = 3, BatchSize = 32, Seed = 5 });
        var distill = (Pwoa)BuiltInPruners.Get("pwoa-distill-only").Build(settings);
        (distill.Options.LambdaX, distill.Options.LambdaY, distill.Options.DistillationAlpha).Should().Be((0.0, 0.0, 10.0));
        var hsic = (Pwoa)BuiltInPruners.Get("pwoa-hsic-only").Build(settings);
        (hsic.Options.DistillationAlpha, hsic.Options.LambdaX, hsic.Options.LambdaY).Should().Be((0.0, 2e-5, 1e-4));

        var naive = (MagnitudePruner)BuiltInPruners.Get("magnitude").Build(settings);
        naive.Objective.Should().BeSameAs(CrossEntropyObjective.Instance);
        (naive.Options.Epochs, naive.Options.BatchSize, naive.Options.Seed).Should().Be((3, 32, 5), "retrain epochs are the fine-tuning epochs");
        var adversarial = (MagnitudePruner)BuiltInPruners.Get("adversarial").Build(new PrunerSettings());
        ((PgdAdversarialObjective)adversarial.Objective).Options!.Steps.Should().Be(10);
        adversarial.Options.Should().BeEquivalentTo(MagnitudePruningOptions.Paper(0.75));
        ((Pwoa)BuiltInPruners.Get("pwoa").Build(new PrunerSettings { Sparsity = 0.875 })).Options.Should().BeEquivalentTo(PwoaOptions.Paper(0.875));
    }

    [Fact]
    public void An_unknown_name_or_a_bad_setting_is_refused_with_the_allowed_values()
    {
        var unknown = () => BuiltInPruners.Get("hydra");
        unknown.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*hydra*pwoa, pwoa-distill-only, pwoa-hsic-only, magnitude, adversarial*");
        var sparsity = () => BuiltInPruners.Pwoa.Build(new PrunerSettings { Sparsity = 1 });
        sparsity.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("Sparsity");
        var epochs = () => BuiltInPruners.Magnitude.Build(new PrunerSettings { RetrainEpochs = -1 });
        epochs.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("RetrainEpochs");
    }

    [Theory]
    [InlineData("0.75", 0.75)]
    [InlineData("4x", 0.75)]
    [InlineData("16X", 0.9375)]
    [InlineData("2x", 0.5)]
    [InlineData("1x", 0.0)]
    [InlineData("87.5%", 0.875)]
    [InlineData(" 0 ", 0.0)]
    public void Sparsity_is_read_as_a_fraction_a_percentage_or_a_ratio(string text, double expected) =>
        PrunerSettings.ParseSparsity(text).Should().BeApproximately(expected, 1e-12);

    [Theory]
    [InlineData("1")]
    [InlineData("0.5x")]
    [InlineData("-0.1")]
    [InlineData("abc")]
    [InlineData("100%")]
    [InlineData("NaN")]
    public void A_sparsity_out_of_range_is_refused(string text)
    {
        var act = () => PrunerSettings.ParseSparsity(text, "--sparsity");
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*--sparsity*");
    }

    [Fact]
    public void AddPruners_registers_every_definition_in_the_pruner_family()
    {
        using var provider = new ServiceCollection().AddRobustness().AddPruners().Services.BuildServiceProvider();
        var catalog = provider.GetRequiredService<ITechniqueCatalog>();

        catalog.InFamily(TechniqueFamily.Pruners).Select(t => t.Name).Should().BeEquivalentTo(BuiltInPruners.All.Select(d => d.Name));
        var definition = catalog.Create<PrunerDefinition>(TechniqueFamily.Pruners, "pwoa-hsic-only");
        definition.Build(new PrunerSettings()).Name.Should().Be("pwoa-hsic-only");
        var act = () => catalog.Create<PrunerDefinition>(TechniqueFamily.Pruners, "hydra");
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*hydra*adversarial*");
    }
}
