using System.Security.Cryptography;
using FluentAssertions;
using Robustness.Data;
using Robustness.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Robustness.Tests.Data;

public class SyntheticImageSetTests
{
    [Fact]
    public void The_same_seed_gives_the_same_bytes_and_another_seed_others()
    {
        var a = SyntheticImageSet.Generate(30, seed: 3);
        var b = SyntheticImageSet.Generate(30, seed: 3);
        var c = SyntheticImageSet.Generate(30, seed: 4);

        a.Pixels.ToArray().Should().Equal(b.Pixels.ToArray());
        a.Pixels.ToArray().Should().NotEqual(c.Pixels.ToArray());
    }

    [Fact]
    public void The_bytes_are_pinned_so_every_machine_makes_the_same_set()
    {
        var set = SyntheticImageSet.Generate(20, seed: 1);

        Convert.ToHexString(SHA256.HashData(set.Pixels)).Should().Be(PinnedHash);
    }

    private const string PinnedHash = "27759E5CCD8F50401695FE1FFCF7CDE31794D0F02A17F80C4782EC8DBEEF78E2";

    [Fact]
    public void Classes_are_balanced_and_named()
    {
        var set = SyntheticImageSet.Generate(103, seed: 1);

        (set.Channels, set.Height, set.Width).Should().Be((3, 32, 32));
        set.ClassNames.Should().Equal(SyntheticImageSet.AllClassNames);
        var counts = set.Labels.ToArray().GroupBy(l => l).Select(g => g.Count()).ToArray();
        counts.Should().HaveCount(10);
        (counts.Max() - counts.Min()).Should().BeLessThanOrEqualTo(1);
        SyntheticImageSet.Generate(12, seed: 1, size: 16, classes: 4).ClassNames.Should().Equal("horizontal-grating", "vertical-grating", "diagonal-grating", "triangle");
    }

    [Fact]
    public void Train_and_test_sets_differ()
    {
        var sets = SyntheticImageSet.TrainTest(20, 20, seed: 1);

        var train = Enumerable.Range(0, 20).Select(i => Convert.ToHexString(sets.Train.GetImage(i))).ToHashSet();
        var test = Enumerable.Range(0, 20).Select(i => Convert.ToHexString(sets.Test.GetImage(i))).ToList();
        test.Should().OnlyContain(image => !train.Contains(image));
    }

    [Fact]
    public void Arguments_are_checked()
    {
        var act = () => SyntheticImageSet.Generate(10, 1, classes: 11);
        act.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("classes");
    }

    [Fact]
    public void A_tiny_cnn_learns_it_well_above_chance()
    {
        var sets = SyntheticImageSet.TrainTest(1000, 300, seed: 2);
        torch.random.manual_seed(1);
        using var network = new SmallCnn(classes: 10, width: 8);
        using var optimiser = torch.optim.SGD(network.parameters(), 0.05, momentum: 0.9);
        var order = new Random(1);
        const int Epochs = 4, StepsPerEpoch = 1000 / 32 + 1;
        int step = 0;
        for (int epoch = 0; epoch < Epochs; epoch++)
        {
            network.train();
            foreach (var indices in ImageBatches.Plan(sets.Train.Count, 32, order))
            {
                using var scope = torch.NewDisposeScope();
                using var batch = ImageBatches.Read(sets.Train, indices);
                // A learning rate falling linearly to zero leaves the weights and batch-norm statistics settled.
                foreach (var group in optimiser.ParamGroups) group.LearningRate = 0.05 * (1 - (double)step++ / (Epochs * StepsPerEpoch));
                var loss = nn.functional.cross_entropy(network.forward(batch.Images), batch.Labels);
                optimiser.zero_grad();
                loss.backward();
                optimiser.step();
            }
        }

        network.eval();
        long correct = 0;
        using (torch.no_grad())
        {
            using var scope = torch.NewDisposeScope();
            correct = network.forward(sets.Test.ToTensor()).argmax(1).eq(sets.Test.LabelsTensor(0, 300)).sum().item<long>();
        }
        (correct / 300.0).Should().BeGreaterThan(0.4, "chance is 0.1 (about 0.7 is typical after 4 epochs)");
    }
}
