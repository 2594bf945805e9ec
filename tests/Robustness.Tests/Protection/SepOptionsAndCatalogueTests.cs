using FluentAssertions;
using Robustness.Protection;
using Robustness.Training;
using Xunit;

namespace Robustness.Tests.Protection;

[Collection(SepCollection.Name)]
public class SepOptionsAndCatalogueTests(SepFixture fixture)
{
    [Fact]
    public void Defaults_are_the_papers()
    {
        var options = new SepOptions();
        options.Variant.Should().Be(SepVariant.Sep);
        options.Iterations.Should().Be(30);
        options.StepSize.Should().Be(1.0 / 255);
        options.InnerSteps.Should().Be(15);
        options.Epsilon.Should().Be(8.0 / 255);
        SelfEnsembleProtection.DefaultCheckpointCountOf(SepVariant.Sep).Should().Be(30);
        SelfEnsembleProtection.DefaultCheckpointCountOf(SepVariant.FeatureAlignment).Should().Be(30);
        SelfEnsembleProtection.DefaultCheckpointCountOf(SepVariant.FeatureAlignmentVarianceReduction).Should().Be(15);
    }

    public static TheoryData<SepOptions, string> BadOptions => new()
    {
        { new SepOptions { Iterations = 0 }, nameof(SepOptions.Iterations) },
        { new SepOptions { StepSize = 0 }, nameof(SepOptions.StepSize) },
        { new SepOptions { StepSize = double.NaN }, nameof(SepOptions.StepSize) },
        { new SepOptions { StepSize = 2 }, nameof(SepOptions.StepSize) },
        { new SepOptions { InnerSteps = 0 }, nameof(SepOptions.InnerSteps) },
        { new SepOptions { Variant = (SepVariant)7 }, nameof(SepOptions.Variant) },
        { new SepOptions { Epsilon = -0.1 }, nameof(SepOptions.Epsilon) },
        { new SepOptions { Epsilon = 1.5 }, nameof(SepOptions.Epsilon) },
        { new SepOptions { Seed = -1 }, nameof(SepOptions.Seed) },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void Bad_options_raise_errors_naming_the_option(SepOptions options, string name)
    {
        ((Action)(() => options.Validate())).Should().Throw<ArgumentOutOfRangeException>().WithParameterName(name);
        var checkpoints = fixture.Load(3);
        try
        {
            ((Action)(() => new SelfEnsembleProtection(checkpoints, options))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName(name);
        }
        finally
        {
            checkpoints[0].Dispose();
        }
    }

    [Fact]
    public void The_catalogue_lists_the_SEP_variants_first_then_final_checkpoint_then_random()
    {
        BuiltInProtectors.All.Select(d => d.Name).Should().StartWith(["sep", "sep-fa", "sep-fa-vr", "final-checkpoint", "random"]);
        BuiltInProtectors.Get("SEP-FA").Should().BeSameAs(SelfEnsembleProtection.SepFaDefinition);
        BuiltInProtectors.All.Take(4).Should().OnlyContain(d => d.NeedsCheckpoints);
    }

    [Fact]
    public void Definitions_take_K_by_the_selection_rule_capped_at_what_is_available()
    {
        var settings = new ProtectorSettings { Checkpoints = fixture.Checkpoints, Epsilon = 2.0 / 255, Iterations = 5, Seed = 3 };

        using (var sep = (SelfEnsembleProtection)SelfEnsembleProtection.SepDefinition.Build(settings))
        {
            sep.Name.Should().Be("sep");
            sep.CheckpointCount.Should().Be(SepFixture.Epochs, "the default 30 is capped at the 4 checkpoints held");
            sep.SelectedEpochs.Should().Equal(0, 1, 2, 3);
            sep.Options.Should().Be(new SepOptions { Epsilon = 2.0 / 255, Iterations = 5, Seed = 3 });
        }
        using (var fa = (SelfEnsembleProtection)SelfEnsembleProtection.SepFaDefinition.Build(settings with { CheckpointCount = 2, StepSize = 0.5 / 255 }))
        {
            fa.Name.Should().Be("sep-fa");
            fa.SelectedEpochs.Should().Equal(1, 3);
            fa.Options.StepSize.Should().Be(0.5 / 255);
        }
        using (var vr = (SelfEnsembleProtection)SelfEnsembleProtection.SepFaVrDefinition.Build(settings with { InnerSteps = 6 }))
        {
            vr.Name.Should().Be("sep-fa-vr");
            vr.CheckpointCount.Should().Be(SepFixture.Epochs);
            vr.Options.InnerSteps.Should().Be(6);
        }
        using (var final = (SelfEnsembleProtection)SelfEnsembleProtection.FinalCheckpointDefinition.Build(settings with { CheckpointCount = 3 }))
        {
            final.Name.Should().Be("final-checkpoint");
            final.SelectedEpochs.Should().Equal(3);
            final.Options.Variant.Should().Be(SepVariant.Sep);
        }
    }

    [Fact]
    public void Asking_for_more_checkpoints_than_available_or_none_at_all_is_refused()
    {
        var settings = new ProtectorSettings { Checkpoints = fixture.Checkpoints, CheckpointCount = 5 };
        ((Action)(() => SelfEnsembleProtection.SepDefinition.Build(settings))).Should().Throw<ArgumentOutOfRangeException>()
            .WithParameterName(nameof(ProtectorSettings.CheckpointCount)).WithMessage("*4*");
        ((Action)(() => SelfEnsembleProtection.FromCheckpoints(fixture.Checkpoints, 5))).Should().Throw<ArgumentOutOfRangeException>()
            .WithParameterName("count");
        ((Action)(() => SelfEnsembleProtection.SepDefinition.Build(new ProtectorSettings()))).Should().Throw<ArgumentException>()
            .WithParameterName("settings");
        using var empty = CheckpointSet.InMemory();
        ((Action)(() => SelfEnsembleProtection.FromCheckpoints(empty, 1))).Should().Throw<ArgumentException>().WithParameterName("set");
        ((Action)(() => new SelfEnsembleProtection([]))).Should().Throw<ArgumentException>().WithParameterName("checkpoints");
    }
}
