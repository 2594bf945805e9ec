using FluentAssertions;
using Robustness.Data;
using Xunit;

namespace Robustness.Tests.Data;

public class ImageSetAlignmentTests
{
    private static ImageSet ThreeImages(params string[] classes) =>
        new(new byte[] { 10, 20, 30 }, new long[] { 0, 1, 2 }, 1, 1, 1, classes);

    [Fact]
    public void Aligning_relabels_by_class_name_and_keeps_the_pixels()
    {
        var set = ThreeImages("cat", "dog", "emu");

        var aligned = set.AlignClasses(["emu", "cat", "dog", "fox"]);

        aligned.ClassNames.Should().Equal("emu", "cat", "dog", "fox");
        aligned.Labels.ToArray().Should().Equal(1, 2, 0);
        aligned.Pixels.ToArray().Should().Equal(10, 20, 30);
    }

    [Fact]
    public void Aligning_to_the_same_order_returns_the_set_itself()
    {
        var set = ThreeImages("cat", "dog", "emu");
        set.AlignClasses(["cat", "dog", "emu"]).Should().BeSameAs(set);
    }

    [Fact]
    public void Unknown_classes_are_all_named()
    {
        var set = ThreeImages("cat", "yak", "zebra");

        var act = () => set.AlignClasses(["cat", "dog"]);

        act.Should().Throw<InvalidDataException>().WithMessage("*yak, zebra*");
    }
}
