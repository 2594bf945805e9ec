using FluentAssertions;
using Xunit;

namespace Robustness.Efficiency.Tests;

/// <summary>The runtime controller on a fake clock: a ratio's latency is its MACs share divided by the level's speed.</summary>
public class RatioControllerTests
{
    private static readonly double[] Ratios = [1, 0.75, 0.5, 0.25];

    // A fake machine: the full model takes 10 ms at 2 threads and full clock; latency scales with the ratio's squared
    // width (MACs), inversely with threads and clock.
    private sealed class FakeClock : IRequestTimer
    {
        public List<(double Ratio, string Level)> Served { get; } = [];

        public double Serve(double ratio, FrequencyLevel level)
        {
            Served.Add((ratio, level.Name));
            return Latency(ratio, level);
        }

        public static double Latency(double ratio, FrequencyLevel level) => 10 * ratio * ratio * (2.0 / level.Threads) / level.Factor;
    }

    private static readonly IReadOnlyList<FrequencyLevel> Levels = FrequencyLevel.Grid([2, 1], [1, 0.5]);

    [Fact]
    public void Levels_are_named_and_ordered_fastest_first()
    {
        Levels.Select(l => l.Name).Should().Equal("2T@100%", "2T@50%", "1T@100%", "1T@50%");
        FluentActions.Invoking(() => new FrequencyLevel("x", 0, 1).Validate()).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("Threads");
        FluentActions.Invoking(() => new FrequencyLevel("x", 1, 1.5).Validate()).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("Factor");
    }

    [Fact]
    public void The_controller_picks_the_largest_ratio_that_meets_the_target_at_each_level()
    {
        var table = LatencyTable.Measure(new FakeClock(), Levels, Ratios, warmup: 1, repeats: 3);
        var controller = new RatioController(table, targetMs: 12);

        controller.Choose(Levels[0]).Should().Be((1.0, true));    // 10 ms
        controller.Choose(Levels[1]).Should().Be((0.75, true));   // 20 ms full, 11.25 ms at 0.75
        controller.Choose(Levels[2]).Should().Be((0.75, true));   // same speed as 2T@50%
        controller.Choose(Levels[3]).Should().Be((0.5, true));    // 40 ms full, 10 ms at 0.5
        new RatioController(table, targetMs: 1).Choose(Levels[3]).Should().Be((0.25, false), "nothing meets 1 ms: the smallest, flagged");
    }

    [Fact]
    public void Under_switching_frequencies_the_controller_stays_within_the_target_where_fixed_models_do_not()
    {
        var clock = new FakeClock();
        var controller = new RatioController(LatencyTable.Measure(clock, Levels, Ratios, warmup: 0, repeats: 1), targetMs: 12);
        var schedule = Levels.Concat(Levels.Reverse()).Select(l => (l, 5)).ToList();

        var trace = SwitchingTrace.Run(clock, controller, schedule);

        trace.Should().HaveCount(3 * 5 * 8);
        var byPolicy = trace.GroupBy(r => r.Policy).ToDictionary(g => g.Key, g => g.ToList());
        byPolicy["controller"].Should().OnlyContain(r => r.LatencyMs <= 12);
        byPolicy["fixed 100%"].Count(r => r.LatencyMs > 12).Should().Be(30, "the dense model misses the target at every slowed level");
        byPolicy["fixed 25%"].Should().OnlyContain(r => r.Ratio == 0.25);
        byPolicy["controller"].Average(r => r.Ratio).Should().BeGreaterThan(0.25, "the controller serves larger ratios when it can");
        FluentActions.Invoking(() => new RatioController(LatencyTable.From(Levels, Ratios, (_, _) => 1), 0)).Should().Throw<ArgumentOutOfRangeException>();
    }
}
