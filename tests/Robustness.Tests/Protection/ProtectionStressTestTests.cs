using FluentAssertions;
using Robustness.Data;
using Robustness.Models;
using Robustness.Protection;
using Robustness.Protection.Stress;
using Robustness.Training;
using Xunit;

namespace Robustness.Tests.Protection;

public class ProtectionStressTestTests
{
    private static readonly ImageSet Images = SyntheticImageSet.Generate(40, seed: 5, size: 16);

    private static double MeanAbsoluteChange(ImageSet before, ImageSet after) =>
        before.Pixels.ToArray().Zip(after.Pixels.ToArray(), (a, b) => Math.Abs(a - b)).Average();

    [Theory]
    [InlineData("jpeg95")]
    [InlineData("jpeg75")]
    [InlineData("resize2")]
    [InlineData("blur0.5")]
    [InlineData("grayscale")]
    public void Image_pipelines_change_the_pixels_but_not_the_size_labels_or_names(string name)
    {
        var pipeline = TrainerPipelines.Parse(name);

        var changed = pipeline.PrepareTraining(Images);

        (changed.Count, changed.Height, changed.Width, changed.Channels).Should().Be((Images.Count, Images.Height, Images.Width, Images.Channels));
        changed.Labels.ToArray().Should().Equal(Images.Labels.ToArray());
        MeanAbsoluteChange(Images, changed).Should().BeGreaterThan(0.5, $"{name} changes the images");
        if (name == "grayscale") pipeline.PrepareTest(Images).Should().NotBeSameAs(Images, "a grayscale victim is tested on grayscale images");
        else pipeline.PrepareTest(Images).Should().BeSameAs(Images, "test images are the owner's clean images");
    }

    [Fact]
    public void Stronger_jpeg_changes_more_and_grayscale_gives_equal_channels_on_tests_too()
    {
        double q95 = MeanAbsoluteChange(Images, TrainerPipelines.Jpeg(95).PrepareTraining(Images));
        double q75 = MeanAbsoluteChange(Images, TrainerPipelines.Jpeg(75).PrepareTraining(Images));
        q75.Should().BeGreaterThan(q95);

        var grey = TrainerPipelines.Grayscale.PrepareTest(Images);
        var first = grey.GetImage(0).ToArray();
        int plane = Images.Height * Images.Width;
        first[..plane].Should().Equal(first[plane..(2 * plane)]).And.Equal(first[(2 * plane)..]);
    }

    [Fact]
    public void Recipe_pipelines_change_how_the_victim_trains_not_the_images()
    {
        var recipe = VictimRecipe.ForSep(new ModelSpec("small-cnn", 10, 2, ImageSize: 16), epochs: 1);

        TrainerPipelines.RandomResizedCropAndFlip.VictimRecipe(recipe).Training.Augmentation.Should().BeOfType<ComposedAugmentation>()
            .Which.Steps.Should().ContainItemsAssignableTo<IBatchAugmentation>().And.Contain(s => s is RandomResizedCropAugmentation);
        TrainerPipelines.PgdAdversarialTraining(steps: 2).VictimRecipe(recipe).Objective.Should().BeOfType<PgdAdversarialObjective>();
        TrainerPipelines.PgdAdversarialTraining().PrepareTraining(Images).Should().BeSameAs(Images);
    }

    [Theory]
    [InlineData("jpeg0")]
    [InlineData("resize1")]
    [InlineData("blur")]
    [InlineData("sharpen")]
    public void Unknown_pipelines_are_refused_naming_the_known_ones(string name)
    {
        var act = () => TrainerPipelines.Parse(name);
        act.Should().Throw<ArgumentException>().WithMessage("*known: none, jpeg95*");
    }

    [Fact]
    public void Every_victim_is_trained_once_results_already_measured_are_reused_and_the_table_shows_the_drop()
    {
        var sets = SyntheticImageSet.TrainTest(60, 30, seed: 2, size: 16);
        // A "protection" that destroys the labels' signal: every image replaced by the first one.
        var first = sets.Train.GetImage(0).ToArray();
        var useless = sets.Train.WithPixels(Enumerable.Range(0, sets.Train.Count).SelectMany(_ => first).ToArray());
        var recipe = VictimRecipe.ForSep(new ModelSpec("small-cnn", 10, 4, ImageSize: 16), epochs: 2) with { Seed = 1 };
        var test = new ProtectionStressTest(recipe, [TrainerPipelines.None, TrainerPipelines.Jpeg(75)]);
        var stored = new List<StressCell>();

        var report = test.Run([("clean", sets.Train), ("useless", useless)], sets.Test, finished: stored.Add);

        stored.Should().HaveCount(4);
        report.Cells.Should().HaveCount(4);
        report.Cell("none", "useless")!.Accuracy.Should().BeLessThanOrEqualTo(report.Cell("none", "clean")!.Accuracy);
        var markdown = report.ToMarkdown();
        markdown.Should().Contain("| trainer pipeline | clean | useless |").And.Contain("JPEG re-encoding at quality 75");

        var again = new List<StressCell>();
        var resumed = test.Run([("clean", sets.Train), ("useless", useless)], sets.Test, done: stored.Take(3).ToArray(), finished: again.Add);
        again.Should().ContainSingle().Which.Should().Match<StressCell>(c => c.Pipeline == "jpeg75" && c.Set == "useless");
        resumed.Cell("jpeg75", "useless")!.Accuracy.Should().Be(stored[3].Accuracy, "the same seed trains the same victim");
    }
}
