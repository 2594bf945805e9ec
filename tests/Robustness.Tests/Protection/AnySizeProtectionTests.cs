using FluentAssertions;
using Robustness.Attacks;
using Robustness.Data;
using Robustness.Protection;
using Xunit;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Robustness.Tests.Protection;

/// <summary>
/// SEP on images of another size than its checkpoints' input (16x16 here): crafted at the image's own resolution
/// through the model's resized view, with and without expectation over transforms.
/// </summary>
[Collection(SepCollection.Name)]
public class AnySizeProtectionTests(SepFixture fixture)
{
    private const int Height = 40, Width = 56, Count = 12;

    private static SepOptions Options(SepVariant variant = SepVariant.Sep, int iterations = 10, bool eot = false, int seed = 0) =>
        new() { Variant = variant, Iterations = iterations, InnerSteps = 3, Seed = seed, ExpectationOverTransforms = eot };

    // The fixture's first images upscaled to 40x56 and rounded to whole levels, as decoded photos are.
    private Tensor Photos()
    {
        using var scope = NewDisposeScope();
        var small = fixture.Sample.ToTensor().narrow(0, 0, Count);
        return F.interpolate(small, [Height, Width], mode: InterpolationMode.Bicubic, align_corners: false)
            .clamp(0, 1).mul(255).round().div(255).MoveToOuterDisposeScope();
    }

    private byte[] Protect(SepOptions options, Tensor photos, params int[] epochs)
    {
        using var protector = fixture.Protector(options, epochs.Length == 0 ? [1, 2, 3] : epochs);
        using var session = protector.Prepare(fixture.Sample);
        // The batch owns (and disposes) its tensors: give it copies.
        using var batch = new ImageBatch(photos.clone(), fixture.Sample.LabelsTensor(0, Count), Enumerable.Range(0, Count).ToArray());
        using var stored = session.Protect(batch);
        stored.shape.Should().Equal(Count, 3, Height, Width);
        stored.dtype.Should().Be(ScalarType.Byte);
        return stored.data<byte>().ToArray();
    }

    // Mean target cross-entropy of the checkpoints on the 16x16 view a victim's resize gives of the images.
    private double TargetLossOfView(Tensor images)
    {
        using var scope = NewDisposeScope();
        var view = F.interpolate(images, [16, 16], mode: InterpolationMode.Bilinear, align_corners: false, antialias: true);
        var targets = fixture.Sample.LabelsTensor(0, Count).add(5).remainder(10);
        double loss = 0;
        var models = fixture.Load(1, 2, 3);
        foreach (var model in models)
        {
            using (model)
            using (no_grad())
                loss += AttackMath.CrossEntropy(model.Forward(view), targets).mean().item<float>();
        }
        return loss / models.Length;
    }

    private static Tensor Decode(byte[] stored) => tensor(stored, [Count, 3, Height, Width]).to(ScalarType.Float32).div(255);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_image_of_another_size_keeps_its_size_stays_in_the_budget_and_moves_the_models_view_to_the_target(bool eot)
    {
        using var photos = Photos();
        var stored = Protect(Options(eot: eot), photos);

        var clean = photos.mul(255).round().to(ScalarType.Byte).data<byte>().ToArray();
        var deltas = stored.Zip(clean, (s, c) => s - c).ToArray();
        deltas.Should().OnlyContain(d => Math.Abs(d) <= 8);
        deltas.Count(d => d != 0).Should().BeGreaterThan(deltas.Length / 2, "every pixel of the photo feeds the view, so every pixel gets a gradient");
        using var protectedImages = Decode(stored);
        TargetLossOfView(protectedImages).Should().BeLessThan(TargetLossOfView(photos) - 0.1,
            "the checkpoints see the resized photo closer to the target class");
    }

    [Fact]
    public void The_same_seed_gives_the_same_bytes_and_transforms_give_other_bytes()
    {
        using var photos = Photos();
        var plain = Protect(Options(iterations: 3), photos);
        Protect(Options(iterations: 3), photos).Should().Equal(plain);
        var eot = Protect(Options(iterations: 3, eot: true), photos);
        Protect(Options(iterations: 3, eot: true), photos).Should().Equal(eot, "the crops and flips come from a generator seeded per batch");
        eot.Should().NotEqual(plain);
        Protect(Options(iterations: 3, eot: true, seed: 5), photos).Should().NotEqual(eot);
    }

    [Fact]
    public void Transforms_also_apply_to_images_at_the_models_own_size()
    {
        using var protector = fixture.Protector(Options(iterations: 3), 1, 2);
        using var eotProtector = fixture.Protector(Options(iterations: 3, eot: true), 1, 2);
        var plain = DataProtection.Protect(protector, fixture.Sample, batchSize: 32).Pixels.ToArray();
        var eot = DataProtection.Protect(eotProtector, fixture.Sample, batchSize: 32).Pixels.ToArray();

        eot.Should().NotEqual(plain);
        eot.Zip(fixture.Sample.Pixels.ToArray(), (s, c) => Math.Abs(s - c)).Should().OnlyContain(d => d <= 8);
    }

    [Theory]
    [InlineData(SepVariant.FeatureAlignment)]
    [InlineData(SepVariant.FeatureAlignmentVarianceReduction)]
    public void The_feature_variants_craft_other_sizes_through_the_view_too(SepVariant variant)
    {
        using var photos = Photos();
        var stored = Protect(Options(variant, iterations: 2, eot: variant == SepVariant.FeatureAlignmentVarianceReduction), photos, 1, 3);

        var clean = photos.mul(255).round().to(ScalarType.Byte).data<byte>().ToArray();
        stored.Zip(clean, (s, c) => Math.Abs(s - c)).Should().OnlyContain(d => d <= 8).And.Contain(d => d > 0);
    }

    [Fact]
    public void The_views_gradient_is_the_adjoint_of_the_resize()
    {
        // <V^T g, u> = <g, V u> for any u: the gradient carried back is exactly the resize's transpose applied to g.
        var views = CraftingViews.For(16, Height, Width, expectationOverTransforms: true, seed: 7)!;
        using var scope = NewDisposeScope();
        var x = rand([2, 3, Height, Width], generator: new TorchSharp.torch.Generator(1));
        var u = rand([2, 3, Height, Width], generator: new TorchSharp.torch.Generator(2));
        var g = rand([2, 3, 16, 16], generator: new TorchSharp.torch.Generator(3));
        var draw = views.Draw(2, Height, Width);
        var back = views.Gradient(x, draw, _ => g);
        double left = back.mul(u).sum().item<float>();
        double right = g.mul(views.Apply(u, draw)).sum().item<float>();
        left.Should().BeApproximately(right, 1e-3 * Math.Abs(right));
    }
}
