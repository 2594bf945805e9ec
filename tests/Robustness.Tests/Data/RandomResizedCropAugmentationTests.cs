using FluentAssertions;
using Robustness.Data;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Robustness.Tests.Data;

public class RandomResizedCropAugmentationTests
{
    [Fact]
    public void Shape_range_and_seed_decide_the_result_and_the_input_is_untouched()
    {
        using var scope = NewDisposeScope();
        var images = rand([12, 3, 16, 16], generator: new Generator(3));
        var copy = images.clone();
        var augmentation = new RandomResizedCropAugmentation();

        var a = augmentation.Apply(images, new Generator(7));
        var b = augmentation.Apply(images, new Generator(7));
        var c = augmentation.Apply(images, new Generator(8));

        a.shape.Should().Equal(images.shape);
        a.min().item<float>().Should().BeGreaterThanOrEqualTo(0);
        a.max().item<float>().Should().BeLessThanOrEqualTo(1);
        a.eq(b).all().item<bool>().Should().BeTrue();
        a.eq(c).all().item<bool>().Should().BeFalse();
        images.eq(copy).all().item<bool>().Should().BeTrue();
    }

    [Fact]
    public void A_crop_of_the_whole_area_gives_the_image_back_and_smaller_crops_zoom_in()
    {
        using var scope = NewDisposeScope();
        // A horizontal ramp: a crop of part of the width, enlarged back, has a steeper ramp than the original.
        var ramp = arange(16, dtype: ScalarType.Float32).div(15).view(1, 1, 1, 16).expand(4, 3, 16, 16).contiguous();

        var whole = new RandomResizedCropAugmentation(1.0, 1.0).Apply(ramp, new Generator(1));
        var zoomed = new RandomResizedCropAugmentation(0.25, 0.3).Apply(ramp, new Generator(1));

        // Scale 1 still allows aspect ratios other than 1, which do not fit a square image, so every try falls back to the whole image.
        whole.eq(ramp).all().item<bool>().Should().BeTrue();
        var spread = zoomed.amax([3L]).sub(zoomed.amin([3L])).mean().item<float>();
        spread.Should().BeLessThan(0.8f, "a crop of about a quarter of the area spans about half the ramp");
    }

    [Fact]
    public void A_scale_range_outside_0_to_1_is_refused_by_name()
    {
        var act = () => new RandomResizedCropAugmentation(0, 1);
        act.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("minimumScale");
        var reversed = () => new RandomResizedCropAugmentation(0.9, 0.5);
        reversed.Should().Throw<ArgumentOutOfRangeException>();
    }
}
