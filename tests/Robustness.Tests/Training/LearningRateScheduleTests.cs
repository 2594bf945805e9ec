using FluentAssertions;
using Robustness.Training;
using Xunit;

namespace Robustness.Tests.Training;

public class LearningRateScheduleTests
{
    private const double Tolerance = 1e-12;

    [Fact]
    public void Constant_gives_the_base_rate_everywhere()
    {
        var schedule = LearningRateSchedules.Constant;
        schedule.LearningRate(0.05, 0, 0, 10).Should().Be(0.05);
        schedule.LearningRate(0.05, 99, 9, 10).Should().Be(0.05);
    }

    [Fact]
    public void Sep_warms_up_per_batch_over_epoch_0_from_0_001_to_0_1()
    {
        var schedule = LearningRateSchedules.Sep(120);
        const int batches = 391; // CIFAR-10, batch 128
        for (int b = 0; b < batches; b++)
            schedule.LearningRate(0.1, 0, b, batches).Should().BeApproximately(0.001 + (0.1 - 0.001) * (b + 1) / batches, Tolerance);
        schedule.LearningRate(0.1, 0, 0, batches).Should().BeApproximately(0.001 + 0.099 / 391, Tolerance);
        schedule.LearningRate(0.1, 0, batches - 1, batches).Should().BeApproximately(0.1, Tolerance);
        schedule.LearningRate(0.1, 1, 0, batches).Should().BeApproximately(0.1, Tolerance);
    }

    [Fact]
    public void Sep_steps_at_75_and_90_for_120_epochs()
    {
        var schedule = LearningRateSchedules.Sep(120);
        schedule.Milestones.Should().Equal(75, 90);
        schedule.LearningRate(0.1, 74, 9, 10).Should().BeApproximately(0.1, Tolerance);
        schedule.LearningRate(0.1, 75, 0, 10).Should().BeApproximately(0.01, Tolerance);
        schedule.LearningRate(0.1, 89, 9, 10).Should().BeApproximately(0.01, Tolerance);
        schedule.LearningRate(0.1, 90, 0, 10).Should().BeApproximately(0.001, Tolerance);
        schedule.LearningRate(0.1, 119, 9, 10).Should().BeApproximately(0.001, Tolerance);
    }

    [Theory]
    [InlineData(30, 18, 22)]
    [InlineData(120, 75, 90)]
    [InlineData(60, 37, 45)]
    [InlineData(5, 3, 4)]
    public void Sep_scales_its_milestones_with_the_run_length(int epochs, int first, int second)
    {
        LearningRateSchedules.Sep(epochs).Milestones.Should().Equal(first, second);
    }

    [Fact]
    public void Multi_step_without_warm_up_decays_by_gamma_at_each_milestone()
    {
        var schedule = new MultiStepLearningRate([2, 4], gamma: 0.5);
        schedule.LearningRate(1.0, 0, 0, 5).Should().Be(1.0);
        schedule.LearningRate(1.0, 1, 4, 5).Should().Be(1.0);
        schedule.LearningRate(1.0, 2, 0, 5).Should().Be(0.5);
        schedule.LearningRate(1.0, 4, 0, 5).Should().Be(0.25);
        schedule.LearningRate(1.0, 50, 0, 5).Should().Be(0.25);
    }

    [Fact]
    public void Multi_step_warm_up_can_span_several_epochs()
    {
        var schedule = new MultiStepLearningRate([10], warmupEpochs: 2, warmupStartFactor: 0);
        schedule.LearningRate(1.0, 0, 0, 4).Should().BeApproximately(1.0 / 8, Tolerance);
        schedule.LearningRate(1.0, 1, 0, 4).Should().BeApproximately(5.0 / 8, Tolerance);
        schedule.LearningRate(1.0, 1, 3, 4).Should().BeApproximately(1.0, Tolerance);
        schedule.LearningRate(1.0, 2, 0, 4).Should().Be(1.0);
    }

    [Fact]
    public void Cosine_starts_at_the_base_rate_passes_the_midpoint_and_ends_at_the_floor()
    {
        var schedule = new CosineLearningRate(epochs: 10, floorFactor: 0.1);
        const int batches = 10; // 100 steps
        schedule.LearningRate(2.0, 0, 0, batches).Should().BeApproximately(2.0, Tolerance);
        schedule.LearningRate(2.0, 5, 0, batches).Should().BeApproximately(0.2 + 1.8 * 0.5, Tolerance);
        double last = 0.2 + 1.8 * (1 + Math.Cos(Math.PI * 99 / 100)) / 2;
        schedule.LearningRate(2.0, 9, 9, batches).Should().BeApproximately(last, Tolerance);
        schedule.LearningRate(2.0, 10, 0, batches).Should().BeApproximately(0.2, Tolerance);
        schedule.LearningRate(2.0, 30, 3, batches).Should().BeApproximately(0.2, Tolerance);

        double previous = double.MaxValue;
        for (int e = 0; e < 10; e++)
            for (int b = 0; b < batches; b++)
            {
                double lr = schedule.LearningRate(2.0, e, b, batches);
                lr.Should().BeLessThanOrEqualTo(previous);
                previous = lr;
            }
    }

    [Fact]
    public void Cosine_with_warm_up_rises_linearly_then_decays_over_the_remaining_steps()
    {
        var schedule = new CosineLearningRate(epochs: 5, floorFactor: 0, warmupEpochs: 1, warmupStartFactor: 0.1);
        const int batches = 4; // warm-up 4 steps, cosine 16 steps
        schedule.LearningRate(1.0, 0, 0, batches).Should().BeApproximately(0.1 + 0.9 * 1 / 4, Tolerance);
        schedule.LearningRate(1.0, 0, 3, batches).Should().BeApproximately(1.0, Tolerance);
        schedule.LearningRate(1.0, 1, 0, batches).Should().BeApproximately(1.0, Tolerance);
        schedule.LearningRate(1.0, 3, 0, batches).Should().BeApproximately(0.5, Tolerance);
        schedule.LearningRate(1.0, 5, 0, batches).Should().BeApproximately(0.0, Tolerance);
    }

    [Fact]
    public void Positions_and_parameters_out_of_range_raise_naming_them()
    {
        var schedule = LearningRateSchedules.Sep(30);
        ((Action)(() => schedule.LearningRate(0.1, -1, 0, 10))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("epoch");
        ((Action)(() => schedule.LearningRate(0.1, 0, 10, 10))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("batchInEpoch");
        ((Action)(() => schedule.LearningRate(0.1, 0, 0, 0))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("batchesPerEpoch");
        ((Action)(() => schedule.LearningRate(0, 0, 0, 10))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("baseLearningRate");
        ((Action)(() => new MultiStepLearningRate([5, 3]))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("milestones");
        ((Action)(() => new MultiStepLearningRate([5], gamma: 0))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("gamma");
        ((Action)(() => new CosineLearningRate(0))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("epochs");
        ((Action)(() => new CosineLearningRate(10, floorFactor: 1.5))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("floorFactor");
        ((Action)(() => new CosineLearningRate(3, warmupEpochs: 3))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("warmupEpochs");
        ((Action)(() => LearningRateSchedules.Sep(0))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("epochs");
    }

    [Fact]
    public void A_one_epoch_SEP_run_is_the_warm_up_alone()
    {
        var schedule = LearningRateSchedules.Sep(1);

        schedule.Milestones.Should().BeEmpty();
        schedule.LearningRate(0.1, 0, 9, 10).Should().BeApproximately(0.1, 1e-12);
        schedule.LearningRate(0.1, 0, 0, 10).Should().BeLessThan(0.02);
    }
}
