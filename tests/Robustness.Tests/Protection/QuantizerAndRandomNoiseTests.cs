using FluentAssertions;
using Robustness.Data;
using Robustness.Protection;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Robustness.Tests.Protection;

public class QuantizerAndRandomNoiseTests
{
    private static readonly ImageSet Clean = SyntheticImageSet.Generate(24, seed: 5, size: 8);

    [Theory]
    [InlineData(2.0 / 255, 2)]
    [InlineData(8.0 / 255, 8)]
    [InlineData(0.03, 7)]
    [InlineData(0.0, 0)]
    public void Levels_are_the_whole_1_255_steps_within_the_budget(double epsilon, int levels)
    {
        ProtectionQuantizer.Levels(epsilon).Should().Be(levels);
    }

    [Fact]
    public void Quantize_rounds_clamps_the_integer_delta_and_stays_in_byte_range()
    {
        using var scope = NewDisposeScope();
        var clean = Clean.ToTensor();
        using var generator = new TorchSharp.torch.Generator(9);
        var perturbed = clean + (rand(clean.shape, generator: generator) - 0.5) * 0.2; // up to +-25 levels, outside [0,1] too
        var stored = ProtectionQuantizer.Quantize(clean, perturbed, 8.0 / 255);

        stored.dtype.Should().Be(ScalarType.Byte);
        stored.device_type.Should().Be(DeviceType.CPU);
        var delta = stored.to(ScalarType.Int32) - clean.mul(255).round().to(ScalarType.Int32);
        delta.abs().max().item<int>().Should().Be(8);
        // Where the clamp does not bind, the delta is the rounded perturbation.
        var cleanLevels = clean.mul(255).round();
        var wanted = (perturbed * 255).round() - cleanLevels;
        var free = wanted.abs().lt(8) & (cleanLevels + wanted).ge(0) & (cleanLevels + wanted).le(255);
        delta.to(ScalarType.Float32).masked_select(free).eq(wanted.masked_select(free)).all().item<bool>().Should().BeTrue();
    }

    [Fact]
    public void Quantize_with_zero_budget_returns_the_clean_bytes()
    {
        using var scope = NewDisposeScope();
        var clean = Clean.ToTensor();
        var stored = ProtectionQuantizer.Quantize(clean, clean + 0.1, 0);
        stored.data<byte>().ToArray().Should().Equal(Clean.Pixels.ToArray());
    }

    [Theory]
    [InlineData(2.0 / 255, 2)]
    [InlineData(8.0 / 255, 8)]
    [InlineData(0.03, 7)]
    public void Random_noise_moves_every_byte_by_the_full_budget_unless_clipped(double epsilon, int levels)
    {
        var protector = new RandomNoiseProtector(new RandomNoiseOptions { Epsilon = epsilon, Seed = 4 });
        var stored = DataProtection.Protect(protector, Clean, batchSize: 10);

        var deltas = ProtectionAssertions.Deltas(stored, Clean);
        deltas.Should().OnlyContain(d => Math.Abs(d) <= levels);
        var cleanBytes = Clean.Pixels.ToArray();
        for (int i = 0; i < deltas.Length; i++)
        {
            // Unclipped bytes move by exactly +-levels; a clipped one ends at 0 or 255.
            if (Math.Abs(deltas[i]) != levels) (cleanBytes[i] + deltas[i]).Should().BeOneOf(0, 255);
        }
        deltas.Count(d => d > 0).Should().BeInRange(deltas.Length / 3, 2 * deltas.Length / 3);
        stored.Labels.ToArray().Should().Equal(Clean.Labels.ToArray());
    }

    [Fact]
    public void Random_noise_with_zero_budget_returns_the_clean_bytes_and_is_reproducible()
    {
        DataProtection.Protect(new RandomNoiseProtector(new RandomNoiseOptions { Epsilon = 0 }), Clean).Pixels.ToArray()
            .Should().Equal(Clean.Pixels.ToArray());
        var a = DataProtection.Protect(new RandomNoiseProtector(new RandomNoiseOptions { Seed = 1 }), Clean, 7).Pixels.ToArray();
        var b = DataProtection.Protect(new RandomNoiseProtector(new RandomNoiseOptions { Seed = 1 }), Clean, 7).Pixels.ToArray();
        var c = DataProtection.Protect(new RandomNoiseProtector(new RandomNoiseOptions { Seed = 2 }), Clean, 7).Pixels.ToArray();
        a.Should().Equal(b);
        a.Should().NotEqual(c);
    }
}
