using FluentAssertions;
using Robustness.Pruning;
using Robustness.Validation;
using Xunit;

namespace Robustness.Tests.Validation;

public class RequireTests
{
    [Fact]
    public void Values_in_range_come_back_and_others_are_refused_naming_the_argument_and_the_range()
    {
        Require.AtLeast(3, 1, "width").Should().Be(3);
        Require.Sparsity(0, "Sparsity").Should().Be(0);
        Require.Momentum(0.9, "Momentum").Should().Be(0.9);

        var width = () => Require.AtLeast(0, 1, "width");
        width.Should().Throw<ArgumentOutOfRangeException>().Which.Message.Should().StartWith("width must be >= 1.");
        var batch = () => Require.AtLeast(1, 2, "BatchSize", "HSIC compares the samples of a batch");
        batch.Should().Throw<ArgumentOutOfRangeException>().Which.Message.Should().StartWith("BatchSize must be >= 2 (HSIC compares the samples of a batch).");
        var sparsity = () => Require.Sparsity(1, "Sparsity");
        sparsity.Should().Throw<ArgumentOutOfRangeException>().Which.Message.Should().StartWith("Sparsity must be in [0, 1) (4x compression = 0.75).");
        var nan = () => Require.Momentum(double.NaN, "Momentum");
        nan.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("Momentum");
        var pixels = () => Require.AtLeast(0L, 1L, "maxPixels");
        pixels.Should().Throw<ArgumentOutOfRangeException>().Which.ActualValue.Should().Be(0L);
    }

    // Issue 13, point 4: the HSIC constraint (two samples a batch) belongs to PwoA, not to every pruner's settings.
    [Fact]
    public void A_batch_of_one_is_refused_by_pwoa_only()
    {
        var settings = new PrunerSettings { BatchSize = 1, Profile = PruningProfile.Fast };

        settings.Validate().Should().BeSameAs(settings);
        settings.ToMagnitudeOptions().Validate().BatchSize.Should().Be(1);
        var pwoa = () => settings.ToPwoaOptions().Validate();
        pwoa.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*HSIC*").Which.ParamName.Should().Be("BatchSize");
        var none = () => (settings with { BatchSize = 0 }).Validate();
        none.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("BatchSize");
    }
}
