using FluentAssertions;
using Robustness.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Robustness.Tests.Training;

public class TrainerTests
{
    private static readonly Robustness.Data.ImageSet TrainSet = TinyQuadrants.Create(192, seed: 10);
    private static readonly Robustness.Data.ImageSet TestSet = TinyQuadrants.Create(64, seed: 11);

    private static TrainingOptions Quick(int epochs = 3, int seed = 0) => new()
    {
        Epochs = epochs,
        BatchSize = 16,
        LearningRate = 0.05,
        Momentum = 0.9,
        WeightDecay = 5e-4,
        Seed = seed,
        ProgressInterval = 4,
    };

    [Fact]
    public void A_small_cnn_learns_the_tiny_data_well_above_chance()
    {
        using var model = TinyQuadrants.Model(seed: 1);
        var progress = new List<TrainingProgress>();

        var result = new Trainer(Quick(epochs: 4) with { Schedule = new CosineLearningRate(4) })
            .Train(model, TrainSet, TestSet, progress: new SyncProgress<TrainingProgress>(progress.Add));

        result.History.Should().HaveCount(4);
        result.Final.Test.Should().NotBeNull();
        result.Final.Test!.Accuracy.Should().BeGreaterThan(0.8, "chance is 0.25");
        result.Final.TrainLoss.Should().BeLessThan(result.History[0].TrainLoss);
        result.History.Should().OnlyContain(e => e.Test != null && e.ImagesPerSecond > 0 && !e.Checkpointed);
        result.Checkpoints.Should().BeNull();
        result.WallTime.Should().BePositive();
        new Evaluator().Evaluate(model, TestSet).Should().Be(result.Final.Test);

        progress.Should().HaveCount(4 * 3); // 12 batches an epoch, a report every 4
        progress.Select(p => (p.Epoch, p.Batch)).Should().StartWith([(0, 4), (0, 8), (0, 12), (1, 4)]);
        progress.Should().OnlyContain(p => p.Epochs == 4 && p.BatchesPerEpoch == 12 && double.IsFinite(p.Loss) && p.ImagesPerSecond > 0);
        progress[0].LearningRate.Should().BeApproximately(new CosineLearningRate(4).LearningRate(0.05, 0, 3, 12), 1e-12);
    }

    [Fact]
    public void The_same_seed_gives_identical_weights_and_another_seed_different_ones()
    {
        using var initial = TinyQuadrants.Model(seed: 3);
        using var a = initial.Clone();
        using var b = initial.Clone();
        using var c = initial.Clone();
        var augmentation = new RandomFlip();

        new Trainer(Quick(epochs: 2, seed: 5) with { Augmentation = augmentation }).Train(a, TrainSet);
        new Trainer(Quick(epochs: 2, seed: 5) with { Augmentation = augmentation }).Train(b, TrainSet);
        new Trainer(Quick(epochs: 2, seed: 6) with { Augmentation = augmentation }).Train(c, TrainSet);

        TinyQuadrants.SameWeights(a, b).Should().BeTrue();
        TinyQuadrants.SameWeights(a, c).Should().BeFalse();
        TinyQuadrants.SameWeights(a, initial).Should().BeFalse();
        augmentation.Calls.Should().Be(3 * 2 * 12);
    }

    [Fact]
    public void Streamed_and_in_memory_collections_train_to_the_same_weights()
    {
        using var initial = TinyQuadrants.Model(seed: 4);
        using var a = initial.Clone();
        using var b = initial.Clone();

        new Trainer(Quick(epochs: 1)).Train(a, TrainSet);
        new Trainer(Quick(epochs: 1)).Train(b, new StreamedView(TrainSet));

        TinyQuadrants.SameWeights(a, b).Should().BeTrue();
    }

    [Fact]
    public void Training_runs_in_train_mode_and_restores_the_mode_it_found()
    {
        using var model = TinyQuadrants.Model();
        model.Eval();
        var objective = new ModeRecordingObjective();

        var result = new Trainer(Quick(epochs: 2) with { DropLast = true, BatchSize = 50 }, objective).Train(model, TrainSet, TestSet);

        objective.Modes.Should().HaveCount(2 * 3).And.OnlyContain(training => training);
        objective.Steps.Select(s => (s.Epoch, s.Batch, s.BatchesPerEpoch)).Should().Equal((0, 0, 3), (0, 1, 3), (0, 2, 3), (1, 0, 3), (1, 1, 3), (1, 2, 3));
        model.IsTraining.Should().BeFalse();
        result.History.Should().HaveCount(2);
    }

    [Fact]
    public void Checkpoints_follow_the_schedule_in_memory()
    {
        using var model = TinyQuadrants.Model();

        var result = new Trainer(Quick(epochs: 5) with { Checkpoints = CheckpointSchedule.Every(2, includeFinal: true) }).Train(model, TrainSet);

        using var set = result.Checkpoints!;
        set.Epochs.Should().Equal(1, 3, 4);
        result.History.Select(e => e.Checkpointed).Should().Equal(false, true, false, true, true);
        using var last = set.Load(4);
        TinyQuadrants.Logits(last, TestSet).Should().Equal(TinyQuadrants.Logits(model, TestSet));
        using var earlier = set.Load(1);
        TinyQuadrants.Logits(earlier, TestSet).Should().NotEqual(TinyQuadrants.Logits(model, TestSet));
    }

    [Fact]
    public void Checkpoints_on_disk_reopen_and_load_models_giving_the_same_logits()
    {
        using var folder = new TempFolder();
        using var model = TinyQuadrants.Model();
        using var memory = CheckpointSet.InMemory();
        using var initial = model.Clone();

        using (var disk = CheckpointSet.Create(folder.Path))
            new Trainer(Quick(epochs: 4) with { Checkpoints = CheckpointSchedule.AtEpochs([0, 2]) }).Train(model, TrainSet, checkpoints: disk);
        new Trainer(Quick(epochs: 4) with { Checkpoints = CheckpointSchedule.AtEpochs([0, 2]) }).Train(initial, TrainSet, checkpoints: memory);

        Directory.GetFiles(folder.Path).Select(Path.GetFileName).Should()
            .BeEquivalentTo("epoch-0000.safetensors", "epoch-0002.safetensors", DiskCheckpointSet.IndexFileName);
        using var reopened = CheckpointSet.Open(folder.Path);
        reopened.Epochs.Should().Equal(0, 2);
        foreach (var checkpoint in reopened)
        {
            checkpoint.Path.Should().EndWith($"epoch-{checkpoint.EpochIndex:D4}.safetensors");
            using var fromDisk = checkpoint.Load();
            using var fromMemory = memory.Load(checkpoint.EpochIndex);
            fromDisk.IsTraining.Should().BeFalse();
            TinyQuadrants.Logits(fromDisk, TestSet).Should().Equal(TinyQuadrants.Logits(fromMemory, TestSet));
        }
    }

    [Fact]
    public void Cancellation_throws_between_batches_and_leaves_no_partial_checkpoint()
    {
        using var folder = new TempFolder();
        using var model = TinyQuadrants.Model();
        using var cts = new CancellationTokenSource();
        var progress = new SyncProgress<TrainingProgress>(p =>
        {
            if (p.Epoch == 2 && p.Batch == 4) cts.Cancel();
        });
        using var disk = CheckpointSet.Create(folder.Path);

        var act = () => new Trainer(Quick(epochs: 5) with { Checkpoints = CheckpointSchedule.EveryEpoch })
            .Train(model, TrainSet, TestSet, disk, progress, cts.Token);

        act.Should().Throw<OperationCanceledException>();
        Directory.GetFiles(folder.Path).Select(Path.GetFileName).Should()
            .BeEquivalentTo("epoch-0000.safetensors", "epoch-0001.safetensors", DiskCheckpointSet.IndexFileName);
        using var reopened = CheckpointSet.Open(folder.Path);
        reopened.Epochs.Should().Equal(0, 1);
        using var loaded = reopened.Load(1);
        loaded.Classes.Should().Be(4);
    }

    [Fact]
    public void Bad_inputs_are_refused_before_training()
    {
        using var model = TinyQuadrants.Model();
        var gray = new Robustness.Data.ImageSet(new byte[64], [0], 1, 8, 8, TinyQuadrants.ClassNames);
        ((Action)(() => new Trainer(Quick()).Train(model, gray))).Should().Throw<ArgumentException>().WithParameterName("train");
        ((Action)(() => new Trainer(Quick() with { BatchSize = 500, DropLast = true }).Train(model, TrainSet)))
            .Should().Throw<ArgumentException>().WithParameterName("train");
        using var set = CheckpointSet.InMemory();
        set.Add(0, model);
        ((Action)(() => new Trainer(Quick() with { Checkpoints = CheckpointSchedule.EveryEpoch }).Train(model, TrainSet, checkpoints: set)))
            .Should().Throw<ArgumentException>().WithParameterName("checkpoints");
    }

    /// <summary>Flips the whole batch horizontally with probability 1/2, drawn from the trainer's augmentation generator.</summary>
    private sealed class RandomFlip : Robustness.Data.IBatchAugmentation
    {
        public int Calls { get; private set; }

        public Tensor Apply(Tensor images, Generator generator)
        {
            Calls++;
            return torch.rand(1, generator: generator).item<float>() < 0.5f ? images : images.flip(3);
        }
    }

    private sealed class ModeRecordingObjective : ITrainingObjective
    {
        public List<bool> Modes { get; } = [];
        public List<TrainingStep> Steps { get; } = [];

        public ObjectiveOutput Compute(Classifier classifier, Tensor images, Tensor labels, TrainingStep step)
        {
            Modes.Add(classifier.IsTraining);
            Steps.Add(step);
            return CrossEntropyObjective.Instance.Compute(classifier, images, labels, step);
        }
    }
}
