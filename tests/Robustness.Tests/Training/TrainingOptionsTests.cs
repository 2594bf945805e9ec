using FluentAssertions;
using Robustness.Training;
using Xunit;

namespace Robustness.Tests.Training;

public class TrainingOptionsTests
{
    public static TheoryData<string, TrainingOptions> BadOptions => new()
    {
        { "Epochs", new TrainingOptions { Epochs = 0 } },
        { "BatchSize", new TrainingOptions { BatchSize = 0 } },
        { "LearningRate", new TrainingOptions { LearningRate = 0 } },
        { "LearningRate", new TrainingOptions { LearningRate = double.NaN } },
        { "LearningRate", new TrainingOptions { LearningRate = double.PositiveInfinity } },
        { "Momentum", new TrainingOptions { Momentum = -0.1 } },
        { "Momentum", new TrainingOptions { Momentum = 1 } },
        { "Nesterov", new TrainingOptions { Nesterov = true, Momentum = 0 } },
        { "WeightDecay", new TrainingOptions { WeightDecay = -1e-4 } },
        { "WeightDecay", new TrainingOptions { WeightDecay = double.NaN } },
        { "Seed", new TrainingOptions { Seed = -1 } },
        { "Checkpoints", new TrainingOptions { Epochs = 5, Checkpoints = CheckpointSchedule.AtEpochs([1, 5]) } },
        { "ProgressInterval", new TrainingOptions { ProgressInterval = 0 } },
        { "EvaluationInterval", new TrainingOptions { EvaluationInterval = 0 } },
        { "EvaluationBatchSize", new TrainingOptions { EvaluationBatchSize = 0 } },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void Each_bad_value_raises_naming_the_option_and_its_range(string option, TrainingOptions options)
    {
        var act = () => options.Validate();

        var thrown = act.Should().Throw<ArgumentOutOfRangeException>().Which;
        thrown.ParamName.Should().Be(option);
        thrown.Message.Should().Contain(option).And.MatchRegex("must|needs|indices");
    }

    [Fact]
    public void Missing_schedule_device_or_checkpoints_raise_naming_the_option()
    {
        ((Action)(() => new TrainingOptions { Schedule = null! }.Validate())).Should().Throw<ArgumentNullException>().WithParameterName("Schedule");
        ((Action)(() => new TrainingOptions { Device = null! }.Validate())).Should().Throw<ArgumentNullException>().WithParameterName("Device");
        ((Action)(() => new TrainingOptions { Checkpoints = null! }.Validate())).Should().Throw<ArgumentNullException>().WithParameterName("Checkpoints");
    }

    [Fact]
    public void Defaults_and_the_SEP_preset_are_valid()
    {
        new TrainingOptions().Validate().Should().NotBeNull();
        var sep = TrainingOptions.ForSep(30).Validate();
        sep.LearningRate.Should().Be(0.1);
        sep.Momentum.Should().Be(0.9);
        sep.WeightDecay.Should().Be(5e-4);
        sep.BatchSize.Should().Be(128);
        sep.Checkpoints.EpochsFor(30).Should().HaveCount(30);
        ((MultiStepLearningRate)sep.Schedule).Milestones.Should().Equal(18, 22);
    }

    [Fact]
    public void The_trainer_validates_its_options()
    {
        var act = () => new Trainer(new TrainingOptions { BatchSize = -3 });
        act.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("BatchSize");
    }
}
