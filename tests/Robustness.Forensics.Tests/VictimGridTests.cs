using FluentAssertions;
using Robustness.Models;
using Xunit;

namespace Robustness.Forensics.Tests;

public sealed class VictimGridTests
{
    [Fact]
    public void The_full_grid_is_RED_advs_135_victims_and_the_cpu_grid_keeps_every_attribute_value()
    {
        var full = VictimGrid.Full.Victims();
        full.Should().HaveCount(135);
        full.Select(v => v.Id).Should().OnlyHaveUniqueItems();
        full.Select(v => v.Architecture).Distinct().Should().BeEquivalentTo(VictimArchitectures.Names);
        full.Select(v => v.KernelSize).Distinct().Should().BeEquivalentTo([3, 5, 7]);
        full.Select(v => v.Activation).Distinct().Should().BeEquivalentTo([ActivationKind.Relu, ActivationKind.Tanh, ActivationKind.Elu]);
        full.Select(v => v.Sparsity).Distinct().Should().BeEquivalentTo([0, 0.375, 0.625]);
        VictimGrid.Cpu.Victims().Should().BeEquivalentTo(full, "the cpu grid shrinks widths and epochs, never attribute values");
        VictimGrid.Cpu.Epochs.Should().BeLessThan(VictimGrid.Full.Epochs);
    }

    [Fact]
    public void The_Latin_fraction_is_a_balanced_third_where_every_pair_of_attribute_values_occurs()
    {
        var fraction = VictimGrid.LatinFraction(VictimGrid.Cpu.Victims(), v => v);

        fraction.Should().HaveCount(45);
        fraction.GroupBy(v => v.Architecture).Should().HaveCount(5).And.OnlyContain(g => g.Count() == 9);
        fraction.GroupBy(v => v.KernelSize).Should().HaveCount(3).And.OnlyContain(g => g.Count() == 15);
        fraction.GroupBy(v => v.Activation).Should().HaveCount(3).And.OnlyContain(g => g.Count() == 15);
        fraction.GroupBy(v => v.Sparsity).Should().HaveCount(3).And.OnlyContain(g => g.Count() == 15);
        fraction.GroupBy(v => v.DenseId).Should().OnlyContain(g => g.Count() == 1, "one sparsity per dense network");
        foreach (var architecture in VictimArchitectures.Names)
        {
            var cells = fraction.Where(v => v.Architecture == architecture).ToArray();
            cells.Select(v => (v.KernelSize, v.Sparsity)).Distinct().Should().HaveCount(9, "every kernel meets every sparsity");
            cells.Select(v => (v.Activation, v.Sparsity)).Distinct().Should().HaveCount(9, "every activation meets every sparsity");
        }
    }

    [Fact]
    public void The_Latin_fraction_of_a_zoo_holding_more_is_the_same_victims()
    {
        var grid = VictimGrid.Cpu.Victims();
        var fraction = VictimGrid.LatinFraction(grid, v => v);
        // A zoo that trained all of the first architecture and the fraction of the rest.
        var zoo = grid.Where(v => v.Architecture == "resnet9" || fraction.Contains(v)).ToArray();

        VictimGrid.LatinFraction(zoo, v => v).Should().Equal(fraction);
        var act = () => VictimGrid.LatinFraction(grid.Where(v => v.KernelSize != 7).ToArray(), v => v);
        act.Should().Throw<ArgumentException>().WithMessage("*as many kernel sizes, activations and sparsities*2, 3 and 3*");
    }

    [Fact]
    public void Every_victim_builds_with_its_kernel_and_activation()
    {
        foreach (var victim in VictimGrid.Cpu.Victims().Where(v => v.Sparsity == 0 && v.KernelSize == 7 && v.Activation == ActivationKind.Elu))
        {
            var spec = VictimGrid.Cpu.SpecOf(victim);
            spec.Stages.Should().OnlyContain(s => s.KernelSize == 7 && s.Activation == ActivationKind.Elu);
            using var network = new SpecNetwork(spec);
            network.parameters().Sum(p => p.numel()).Should().BeGreaterThan(0);
        }
        new VictimAttributes("resnet20", 5, ActivationKind.Tanh, 0.375).Id.Should().Be("resnet20-k5-tanh-s375");
    }

    [Theory]
    [InlineData("arch", "Widths")]
    [InlineData("kernel", "KernelSizes")]
    [InlineData("sparsity", "Sparsities")]
    [InlineData("rewind", "RewindEpoch")]
    [InlineData("epochs", "Epochs")]
    public void A_bad_grid_is_refused_naming_the_setting(string what, string name)
    {
        var grid = what switch
        {
            "arch" => VictimGrid.Cpu with { Widths = new Dictionary<string, int> { ["resnet99"] = 16 } },
            "kernel" => VictimGrid.Cpu with { KernelSizes = [4] },
            "sparsity" => VictimGrid.Cpu with { Sparsities = [1] },
            "rewind" => VictimGrid.Cpu with { RewindEpoch = 7 },
            _ => VictimGrid.Cpu with { Epochs = 0 },
        };
        FluentActions.Invoking(() => new VictimZoo(grid)).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be(name);
        FluentActions.Invoking(() => VictimGrid.Preset("huge")).Should().Throw<ArgumentOutOfRangeException>();
    }
}
