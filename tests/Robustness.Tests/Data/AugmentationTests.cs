using FluentAssertions;
using Robustness.Data;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Robustness.Tests.Data;

public class AugmentationTests
{
    private static Tensor Batch(int n = 16, int c = 3, int h = 8, int w = 8) =>
        torch.rand([n, c, h, w], generator: new Generator(123, torch.CPU));

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    [Fact]
    public void The_same_seed_gives_the_same_batch_and_another_seed_another()
    {
        using var scope = torch.NewDisposeScope();
        var images = Batch();
        var augmentation = ComposedAugmentation.Cifar();

        var a = augmentation.Apply(images, new Generator(7, torch.CPU));
        var b = augmentation.Apply(images, new Generator(7, torch.CPU));
        var c = augmentation.Apply(images, new Generator(8, torch.CPU));

        Same(a, b).Should().BeTrue();
        Same(a, c).Should().BeFalse();
    }

    [Fact]
    public void Shape_and_range_are_kept_and_the_input_is_untouched()
    {
        using var scope = torch.NewDisposeScope();
        var images = Batch();
        var copy = images.clone();

        var result = ComposedAugmentation.Cifar().Apply(images, new Generator(1, torch.CPU));

        result.shape.Should().Equal(images.shape);
        result.min().item<float>().Should().BeGreaterThanOrEqualTo(0f);
        result.max().item<float>().Should().BeLessThanOrEqualTo(1f);
        Same(images, copy).Should().BeTrue();
    }

    [Fact]
    public void Crop_with_no_padding_and_no_flip_is_the_identity()
    {
        using var scope = torch.NewDisposeScope();
        var images = Batch();

        var result = new ComposedAugmentation(new RandomCropAugmentation(0), new HorizontalFlipAugmentation(0)).Apply(images, new Generator(1, torch.CPU));

        Same(result, images).Should().BeTrue();
    }

    [Fact]
    public void Each_image_is_shifted_by_its_own_offset_with_zeros_filling_in()
    {
        using var scope = torch.NewDisposeScope();
        const int p = 2;
        var images = Batch(n: 32, c: 2, h: 6, w: 6).add(0.1f);   // no exact zeros inside an image
        var result = new RandomCropAugmentation(p).Apply(images, new Generator(5, torch.CPU));
        var padded = nn.functional.pad(images, [p, p, p, p]);

        var offsets = new HashSet<(int, int)>();
        for (int i = 0; i < 32; i++)
        {
            var match = Enumerable.Range(0, 2 * p + 1).SelectMany(dy => Enumerable.Range(0, 2 * p + 1).Select(dx => (dy, dx)))
                .Where(o => Same(padded[i, .., o.dy..(o.dy + 6), o.dx..(o.dx + 6)], result[i])).ToList();
            match.Should().ContainSingle($"image {i} must be one window of its padded self");
            offsets.Add(match[0]);
        }
        offsets.Count.Should().BeGreaterThan(5, "offsets are drawn per image");
    }

    [Fact]
    public void Flip_probability_one_mirrors_every_image_and_half_mirrors_some()
    {
        using var scope = torch.NewDisposeScope();
        var images = Batch(n: 64);

        Same(new HorizontalFlipAugmentation(1).Apply(images, new Generator(1, torch.CPU)), images.flip(3)).Should().BeTrue();
        var half = new HorizontalFlipAugmentation().Apply(images, new Generator(1, torch.CPU));
        long flipped = half.eq(images.flip(3)).all(1).all(1).all(1).sum().item<long>();
        flipped.Should().BeInRange(16, 48);
    }

    [Fact]
    public void Bad_arguments_are_named()
    {
        var crop = () => new RandomCropAugmentation(-1);
        crop.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("padding");
        var flip = () => new HorizontalFlipAugmentation(1.5);
        flip.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("probability");
        using var flat = torch.zeros(3, 8, 8);
        var apply = () => new RandomCropAugmentation().Apply(flat, new Generator(1, torch.CPU));
        apply.Should().Throw<ArgumentException>().WithParameterName("images");
    }
}
