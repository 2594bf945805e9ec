using FluentAssertions;
using Robustness.Protection;
using Xunit;

namespace Robustness.Tests.Protection;

public class CheckpointSelectionTests
{
    private static int[] Epochs(int n) => Enumerable.Range(0, n).ToArray();

    [Fact]
    public void Of_120_epochs_K5_takes_every_24th_ending_at_119()
    {
        CheckpointSelection.Select(Epochs(120), 5).Should().Equal(23, 47, 71, 95, 119);
    }

    [Fact]
    public void Of_120_epochs_K15_takes_every_8th_and_K30_every_4th_ending_at_119()
    {
        CheckpointSelection.Select(Epochs(120), 15).Should().Equal(Enumerable.Range(0, 15).Select(i => 7 + 8 * i));
        CheckpointSelection.Select(Epochs(120), 30).Should().Equal(Enumerable.Range(0, 30).Select(i => 3 + 4 * i));
    }

    [Fact]
    public void Fewer_than_2K_checkpoints_collapse_to_the_last_K()
    {
        CheckpointSelection.Select(Epochs(50), 30).Should().Equal(Enumerable.Range(20, 30));
    }

    [Fact]
    public void Of_30_epochs_K5_takes_every_6th_ending_at_29_and_K1_the_last()
    {
        CheckpointSelection.Select(Epochs(30), 5).Should().Equal(5, 11, 17, 23, 29);
        CheckpointSelection.Select(Epochs(30), 1).Should().Equal(29);
        CheckpointSelection.Select(Epochs(30), 30).Should().Equal(Epochs(30));
    }

    [Fact]
    public void Epochs_are_sorted_first_and_need_not_start_at_zero()
    {
        var shuffled = Enumerable.Range(100, 30).Reverse().ToArray();
        CheckpointSelection.Select(shuffled, 5).Should().Equal(105, 111, 117, 123, 129);
    }

    [Fact]
    public void Bad_arguments_raise_errors_naming_them()
    {
        ((Action)(() => CheckpointSelection.Select(Epochs(10), 0))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("count");
        ((Action)(() => CheckpointSelection.Select(Epochs(10), 11))).Should().Throw<ArgumentOutOfRangeException>()
            .WithParameterName("count").WithMessage("*10*");
        ((Action)(() => CheckpointSelection.Select([], 1))).Should().Throw<ArgumentException>().WithParameterName("epochs");
        ((Action)(() => CheckpointSelection.Select(null!, 1))).Should().Throw<ArgumentNullException>().WithParameterName("epochs");
    }
}
