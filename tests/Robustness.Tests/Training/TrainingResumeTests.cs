using FluentAssertions;
using Robustness.Data;
using Robustness.Tests.Models;
using Robustness.Training;
using Xunit;
using static TorchSharp.torch;

namespace Robustness.Tests.Training;

/// <summary>A training run killed part way continues after its last checkpoint and ends exactly as an uninterrupted run.</summary>
public sealed class TrainingResumeTests : IDisposable
{
    private static readonly ImageSet TrainSet = TinyQuadrants.Create(96, seed: 10);
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    // Momentum, weight decay, a stepped schedule and the crop-flip augmentation: every piece of state a resume must restore.
    private static TrainingOptions Options => new()
    {
        Epochs = 4, BatchSize = 16, LearningRate = 0.05, Momentum = 0.9, WeightDecay = 5e-4, Seed = 3,
        Schedule = LearningRateSchedules.Sep(4), Augmentation = ComposedAugmentation.Cifar(padding: 1), Checkpoints = CheckpointSchedule.Every(1),
    };

    private static float[] Weights(Classifier model) =>
        model.Network.state_dict().Values.SelectMany(t => t.to(ScalarType.Float32).flatten().data<float>().ToArray()).ToArray();

    [Fact]
    public void A_run_stopped_after_two_epochs_and_resumed_gives_the_weights_of_an_uninterrupted_run()
    {
        string whole = Path.Combine(_temp.Path, "whole"), parted = Path.Combine(_temp.Path, "parted");
        using (var model = TinyQuadrants.Model(seed: 1))
        using (var set = CheckpointSet.Create(whole))
            new Trainer(Options).Train(model, TrainSet, null, set, new TrainingResumeState(whole));

        // Stopped in the middle of the third epoch (index 2): epochs 0 and 1 are checkpointed, with their state.
        using var cancel = new CancellationTokenSource();
        using (var model = TinyQuadrants.Model(seed: 1))
        using (var set = CheckpointSet.Create(parted))
        {
            var stop = new SyncProgress<TrainingProgress>(p => { if (p.Epoch == 2 && p.Batch >= 2) cancel.Cancel(); });
            var act = () => new Trainer(Options with { ProgressInterval = 1 }).Train(model, TrainSet, null, set, new TrainingResumeState(parted), stop, cancel.Token);
            act.Should().Throw<OperationCanceledException>();
            set.Epochs.Should().Equal(0, 1);
        }

        TrainingResult resumed;
        using (var model = TinyQuadrants.Model(seed: 99)) // other initial weights: the resume must load the checkpoint's
        using (var set = CheckpointSet.Open(parted))
            resumed = new Trainer(Options).Train(model, TrainSet, null, set, new TrainingResumeState(parted));

        resumed.History.Select(e => e.Epoch).Should().Equal(2, 3);
        using var reference = CheckpointSet.Open(whole);
        using var again = CheckpointSet.Open(parted);
        again.Epochs.Should().Equal(0, 1, 2, 3);
        foreach (int epoch in new[] { 2, 3 })
        {
            using var a = reference.Load(epoch);
            using var b = again.Load(epoch);
            Weights(b).Should().Equal(Weights(a), $"epoch {epoch} of the resumed run equals the uninterrupted run's");
        }
    }

    [Fact]
    public void A_state_of_other_settings_is_not_resumed_and_adversarial_training_refuses_to_resume()
    {
        string folder = Path.Combine(_temp.Path, "ckpt");
        using (var model = TinyQuadrants.Model(seed: 1))
        using (var set = CheckpointSet.Create(folder))
            new Trainer(Options with { Epochs = 2, Schedule = LearningRateSchedules.Sep(2) }).Train(model, TrainSet, null, set, new TrainingResumeState(folder));

        using (var set = CheckpointSet.Open(folder))
        using (var model = TinyQuadrants.Model(seed: 1))
        {
            string fingerprint = TrainingResumeState.Fingerprint(Options, CrossEntropyObjective.Instance, new ShuffledBatches(16), TrainSet.Count, model);
            new TrainingResumeState(folder).ResumableEpoch(fingerprint, set).Should().BeNull("the state is of a 2-epoch run, not this 4-epoch one");
        }

        using var adversarial = TinyQuadrants.Model(seed: 1);
        var objective = new PgdAdversarialObjective(PgdAdversarialObjective.MadryDefaults with { Steps = 1 });
        var act = () => new Trainer(Options, objective).Train(adversarial, TrainSet, null, CheckpointSet.InMemory(), new TrainingResumeState(folder));
        act.Should().Throw<ArgumentException>().WithParameterName("resume");
    }
}
