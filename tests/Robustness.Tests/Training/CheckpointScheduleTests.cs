using FluentAssertions;
using Robustness.Training;
using Xunit;

namespace Robustness.Tests.Training;

public class CheckpointScheduleTests
{
    [Fact]
    public void Every_epoch_keeps_all_epochs()
    {
        CheckpointSchedule.EveryEpoch.EpochsFor(5).Should().Equal(0, 1, 2, 3, 4);
    }

    [Fact]
    public void Every_k_epochs_keeps_the_end_of_each_block_and_optionally_the_final_epoch()
    {
        CheckpointSchedule.Every(4).EpochsFor(120).Should().HaveCount(30).And.StartWith([3, 7]).And.EndWith(119);
        CheckpointSchedule.Every(3).EpochsFor(10).Should().Equal(2, 5, 8);
        CheckpointSchedule.Every(3, includeFinal: true).EpochsFor(10).Should().Equal(2, 5, 8, 9);
    }

    [Fact]
    public void An_explicit_list_keeps_exactly_those_epochs()
    {
        CheckpointSchedule.AtEpochs([4, 0, 2, 2]).EpochsFor(6).Should().Equal(0, 2, 4);
        CheckpointSchedule.AtEpochs([0, 2], includeFinal: true).EpochsFor(6).Should().Equal(0, 2, 5);
    }

    [Fact]
    public void None_and_final_only()
    {
        CheckpointSchedule.None.EpochsFor(7).Should().BeEmpty();
        CheckpointSchedule.FinalOnly.EpochsFor(7).Should().Equal(6);
    }

    [Fact]
    public void Bad_arguments_raise()
    {
        ((Action)(() => CheckpointSchedule.Every(0))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("epochs");
        ((Action)(() => CheckpointSchedule.AtEpochs([-1]))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("epochIndices");
    }
}
