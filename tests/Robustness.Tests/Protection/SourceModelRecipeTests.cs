using FluentAssertions;
using Robustness.Data;
using Robustness.Models;
using Robustness.Protection;
using Robustness.Training;
using Xunit;

namespace Robustness.Tests.Protection;

/// <summary>SEP's source-model recipe, stated once for the tool, the demo and the benchmarks.</summary>
public class SourceModelRecipeTests
{
    [Fact]
    public void The_sep_recipe_is_seps_training_with_crop_flip_and_a_checkpoint_every_epoch()
    {
        var recipe = SourceModelRecipe.ForSep(new ModelSpec("small-cnn", Classes: 4, Width: 4, ImageSize: 8), epochs: 3) with { Seed = 7 };
        var t = recipe.EffectiveTraining;

        t.Should().BeEquivalentTo(TrainingOptions.ForSep(3), o => o.Excluding(x => x.Augmentation).Excluding(x => x.Seed).Excluding(x => x.Schedule));
        t.Schedule.ToString().Should().Be(LearningRateSchedules.Sep(3).ToString());
        t.Augmentation.Should().BeOfType<ComposedAugmentation>();
        t.Seed.Should().Be(7);
        t.Checkpoints.Should().Be(CheckpointSchedule.EveryEpoch);
    }

    [Fact]
    public void Create_then_train_gives_one_checkpoint_per_epoch_and_the_datas_statistics_by_default()
    {
        var train = SyntheticImageSet.Generate(48, seed: 2, size: 8, classes: 4);
        var recipe = SourceModelRecipe.ForSep(new ModelSpec("small-cnn", Classes: 4, Width: 4, ImageSize: 8), epochs: 2) with { Seed = 1 };
        using var model = recipe.CreateModel(train);
        using var checkpoints = CheckpointSet.InMemory();

        recipe.Train(model, train, null, checkpoints);

        model.Normalization.Should().Be(ChannelStatistics.Of(train));
        model.ClassNames.Should().Equal(train.ClassNames);
        checkpoints.Epochs.Should().Equal(0, 1);
        using var again = recipe.CreateModel(train);
        ModelTestSupportBridge.SameWeights(again, recipe.CreateModel(train)).Should().BeTrue("the seed fixes the initial weights");
    }

    [Fact]
    public void A_negative_seed_is_refused_by_name()
    {
        var recipe = SourceModelRecipe.ForSep(new ModelSpec("small-cnn", Classes: 4, Width: 4, ImageSize: 8), epochs: 1) with { Seed = -1 };
        var act = () => recipe.CreateModel(SyntheticImageSet.Generate(8, seed: 1, size: 8, classes: 4));
        act.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("Seed");
    }

    private static class ModelTestSupportBridge
    {
        public static bool SameWeights(Classifier a, Classifier b)
        {
            using (b)
            {
                var theirs = b.Network.state_dict();
                return a.Network.state_dict().All(p => Robustness.Tests.Models.ModelTestSupport.Identical(p.Value, theirs[p.Key]));
            }
        }
    }
}
