using FluentAssertions;
using Robustness.Pruning;
using Xunit;

namespace Robustness.Tests.Pruning;

public class AdmmScheduleTests
{
    [Fact]
    public void The_paper_schedule_updates_16_times_in_50_epochs_and_rho_ends_at_one()
    {
        var schedule = new AdmmSchedule();
        // 0-based epochs 3, 6, ..., 48 are the paper's (1-based) epochs 4, 7, ..., 49.
        schedule.UpdateEpochs(50).Should().Equal(Enumerable.Range(1, 16).Select(k => 3 * k));
        schedule.Rho(0).Should().Be(0.01);
        schedule.Rho(2).Should().Be(0.01);
        schedule.Rho(3).Should().BeApproximately(0.0135, 1e-12);
        schedule.Rho(45).Should().BeApproximately(0.01 * Math.Pow(1.35, 15), 1e-12).And.BeLessThan(1.0);
        schedule.Rho(48).Should().Be(1.0, "0.01 * 1.35^16 = 1.22 is capped at 1");
        schedule.Rho(49).Should().Be(1.0);
    }

    [Fact]
    public void The_learning_rate_cycles_lr_lr10_lr100_within_each_three_epoch_cycle()
    {
        var schedule = new AdmmSchedule();
        Enumerable.Range(0, 7).Select(schedule.LearningRateFactor).Should().Equal(1, 0.1, 0.01, 1, 0.1, 0.01, 1);
    }

    [Fact]
    public void Bad_values_name_themselves()
    {
        FluentActions.Invoking(() => new AdmmSchedule(InitialRho: 0).Validate()).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("InitialRho");
        FluentActions.Invoking(() => new AdmmSchedule(CycleEpochs: 0).Validate()).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("CycleEpochs");
        FluentActions.Invoking(() => new AdmmSchedule().Rho(-1)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => new PwoaOptions { Sparsity = 1 }.Validate()).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("Sparsity");
        FluentActions.Invoking(() => new PwoaOptions { BatchSize = 1 }.Validate()).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("BatchSize");
        FluentActions.Invoking(() => new PwoaOptions { DistillationAlpha = 0, LambdaX = 0, LambdaY = 0 }.Validate()).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("DistillationAlpha");
    }

    [Fact]
    public void Paper_defaults_are_the_cifar_recipe()
    {
        var o = PwoaOptions.Paper();
        (o.Sparsity, o.BatchSize, o.AdmmEpochs, o.RetrainEpochs).Should().Be((0.75, 128, 50, 100));
        (o.AdmmLearningRate, o.RetrainLearningRate, o.RetrainFinalLearningRate).Should().Be((0.01, 0.005, 4e-8));
        (o.Momentum, o.WeightDecay, o.Temperature, o.DistillationAlpha, o.LambdaX, o.LambdaY).Should().Be((0.9, 1e-4, 30.0, 10.0, 2e-5, 1e-4));
        o.Admm.Should().Be(new AdmmSchedule(0.01, 1.35, 1.0, 3));
        o.HsicInAdmm.Should().BeFalse();
        PwoaOptions.FastCpu().Validate().AdmmEpochs.Should().BeLessThan(o.AdmmEpochs);
    }
}
