using FluentAssertions;
using Robustness.Data;
using Robustness.Models;
using Robustness.Pruning;
using Robustness.Training;
using TorchSharp;
using static TorchSharp.torch;
using Xunit;

namespace Robustness.Tests.Training;

/// <summary>The seams of the one training loop: who chooses the examples, how the weights move, what the loss reports.</summary>
public class TrainingHookTests
{
    private static readonly ModelSpec Spec = new("small-cnn", Classes: 4, Width: 4, ImageSize: 8);

    [Fact]
    public void A_batch_sampler_decides_which_examples_train_in_each_epoch()
    {
        var train = SyntheticImageSet.Generate(40, seed: 1, size: 8, classes: 4);
        using var classifier = Classifier.Create(Spec, seed: 1);
        var sampler = new EvenExamplesOnly(batchSize: 5);
        var objective = new CountingObjective();
        var reports = new List<TrainingProgress>();

        new Trainer(new TrainingOptions { Epochs = 3, BatchSize = 8, Augmentation = null, Checkpoints = CheckpointSchedule.None, ProgressInterval = 1 },
            objective, sampler: sampler).Train(classifier, train, progress: new SyncProgress<TrainingProgress>(reports.Add));

        sampler.Epochs.Should().Equal(0, 1, 2);
        objective.Images.Should().Be(3 * 20, "each epoch trains the 20 examples the sampler chose, not all 40");
        reports.Should().OnlyContain(r => r.BatchesPerEpoch == 4, "progress counts the sampler's batches");
    }

    [Fact]
    public void A_parameter_update_hook_keeps_pruned_weights_at_zero_through_the_trainer()
    {
        var train = SyntheticImageSet.Generate(48, seed: 2, size: 8, classes: 4);
        using var classifier = Classifier.Create(Spec, seed: 2);
        using var masks = MaskSet.ByMagnitude(classifier, 0.6);
        masks.Apply(classifier);

        new Trainer(new TrainingOptions { Epochs = 2, BatchSize = 16, Checkpoints = CheckpointSchedule.None }, update: masks)
            .Train(classifier, train);

        var report = SparsityReport.Measure(classifier, masks);
        report.Overall.Should().BeApproximately(0.6, 0.01, "the masks' step ran instead of the bare optimizer step");
        using var plain = Classifier.Create(Spec, seed: 2);
        using (var same = MaskSet.ByMagnitude(plain, 0.6)) same.Apply(plain);
        new Trainer(new TrainingOptions { Epochs = 2, BatchSize = 16, Checkpoints = CheckpointSchedule.None }).Train(plain, train);
        SparsityReport.Measure(plain).Overall.Should().BeLessThan(0.1, "without the hook, momentum and weight decay revive pruned weights");
    }

    [Fact]
    public void The_loop_averages_the_loss_terms_an_objective_reports()
    {
        var train = SyntheticImageSet.Generate(32, seed: 3, size: 8, classes: 4);
        using var classifier = Classifier.Create(Spec, seed: 3);
        using var optimizer = optim.SGD(classifier.Network.parameters(), 0.01);
        using var source = new TrainingBatchSource(train, classifier.Device);
        using var loop = new TrainingLoop(classifier, optimizer, new TwoTermObjective(), source);

        var totals = loop.RunEpoch(new ShuffledBatches(8), train.Count, epoch: 0, epochs: 1, new Random(1), _ => 0.01);

        totals.Seen.Should().Be(32);
        totals.Batches.Should().Be(4);
        totals.MeanTerms.Should().HaveCount(2);
        totals.MeanTerms[0].Should().BeApproximately(totals.MeanLoss, 1e-6);
        totals.MeanTerms[1].Should().BeApproximately(2 * totals.MeanLoss, 1e-6);
        totals.LearningRate.Should().Be(0.01);
    }

    private sealed class EvenExamplesOnly(int batchSize) : IBatchSampler
    {
        public List<int> Epochs { get; } = [];

        public int BatchesPerEpoch(int count) => (count / 2 + batchSize - 1) / batchSize;

        public IEnumerable<int[]> Batches(int epoch, int count, Random random)
        {
            Epochs.Add(epoch);
            return Enumerable.Range(0, count).Where(i => i % 2 == 0).Chunk(batchSize);
        }
    }

    private sealed class CountingObjective : ITrainingObjective
    {
        public int Images { get; private set; }

        public ObjectiveOutput Compute(Classifier classifier, Tensor images, Tensor labels, TrainingStep step)
        {
            Images += (int)images.shape[0];
            return CrossEntropyObjective.Instance.Compute(classifier, images, labels, step);
        }
    }

    private sealed class TwoTermObjective : ITrainingObjective
    {
        public ObjectiveOutput Compute(Classifier classifier, Tensor images, Tensor labels, TrainingStep step)
        {
            var output = CrossEntropyObjective.Instance.Compute(classifier, images, labels, step);
            var loss = output.Loss;
            return output with { Terms = torch.stack([loss.detach(), loss.detach().mul(Robustness.Runtime.Scalars.Two)]) };
        }
    }
}
