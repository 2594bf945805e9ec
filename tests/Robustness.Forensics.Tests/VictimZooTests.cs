using FluentAssertions;
using Robustness.Data;
using Robustness.Models;
using Robustness.Pruning;
using Xunit;

namespace Robustness.Forensics.Tests;

/// <summary>The victim zoo on a tiny grid: attributes, exact global sparsity, files that carry their attributes, resuming.</summary>
public sealed class VictimZooTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("robustness-zoo-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static readonly VictimGrid Tiny = new()
    {
        Name = "tiny",
        Widths = new Dictionary<string, int> { ["resnet9"] = 4, ["vgg11"] = 4 },
        KernelSizes = [3],
        Activations = [ActivationKind.Relu, ActivationKind.Elu],
        Sparsities = [0, 0.5],
        Epochs = 2,
        RetrainEpochs = 1,
        RewindEpoch = 1,
        LearningRate = 0.05,
        BatchSize = 32,
    };

    private static (ImageSet Train, ImageSet Test) Data()
    {
        var sets = SyntheticImageSet.TrainTest(64, 30, seed: 3, size: 32, classes: 3);
        return (sets.Train, sets.Test);
    }

    [Fact]
    public void Builds_every_victim_with_its_attributes_and_exact_conv_sparsity_then_resumes_without_training()
    {
        var (train, test) = Data();
        var stages = new List<VictimProgress>();
        var index = new VictimZoo(Tiny).Build(train, test, _dir, progress: new SyncProgress<VictimProgress>(stages.Add));

        index.Victims.Should().HaveCount(8);
        index.Victims.Select(v => v.Id).Should().Equal(Tiny.Victims().Select(v => v.Id));
        stages.Count(s => s.Stage == "dense").Should().Be(4, "one dense network per architecture x kernel x activation, shared by its sparsities");
        foreach (var record in index.Victims)
        {
            string path = Path.Combine(_dir, record.File);
            VictimZoo.AttributesOf(path).Should().Be(record.Attributes);
            using var victim = Classifier.Load(path);
            var spec = ArchSpec.From(victim.Spec);
            spec.Stages.Should().OnlyContain(s => s.Activation == record.Attributes.Activation && s.KernelSize == record.Attributes.KernelSize);
            var convolutions = VictimZoo.Convolutions(victim);
            long total = convolutions.Sum(p => p.Weight.numel());
            long zeros = total - convolutions.Sum(p => p.Weight.count_nonzero().item<long>());
            zeros.Should().Be(MagnitudeProjection.PrunedCount(total, record.Attributes.Sparsity), "global pruning removes exactly round(p * n) conv weights and retraining keeps them out");
            record.ConvSparsity.Should().BeApproximately(record.Attributes.Sparsity, 1e-3);
            record.TestAccuracy.Should().BeInRange(0, 1);
            // The classifier and batch norm are never pruned.
            victim.Network.named_parameters().Where(p => p.parameter.dim() != 4).Should().OnlyContain(p => p.parameter.count_nonzero().item<long>() > 0);
        }

        // Global pruning: the layers of a pruned victim lose different shares (one threshold for all of them).
        using (var pruned = Classifier.Load(Path.Combine(_dir, index.Victims.First(v => v.Attributes.Sparsity > 0).File)))
        {
            var shares = VictimZoo.Convolutions(pruned).Select(p => 1 - (double)p.Weight.count_nonzero().item<long>() / p.Weight.numel()).ToList();
            (shares.Max() - shares.Min()).Should().BeGreaterThan(0.05);
        }

        var again = new List<VictimProgress>();
        var resumed = new VictimZoo(Tiny).Build(train, test, _dir, progress: new SyncProgress<VictimProgress>(again.Add));
        again.Should().OnlyContain(s => s.Stage == "kept");
        resumed.Victims.Should().BeEquivalentTo(index.Victims);

        // A lost victim file is retrained alone; its dense network is reused.
        var lost = index.Victims[3];
        File.Delete(Path.Combine(_dir, lost.File));
        var repair = new List<VictimProgress>();
        new VictimZoo(Tiny).Build(train, test, _dir, progress: new SyncProgress<VictimProgress>(repair.Add));
        repair.Where(s => s.Stage == "done").Select(s => s.Id).Should().Equal(lost.Id);
        File.Exists(Path.Combine(_dir, lost.File)).Should().BeTrue();
    }

    [Fact]
    public void A_selection_trains_only_its_victims_and_the_whole_grid_later_adds_the_rest_on_the_same_dense_networks()
    {
        var (train, test) = Data();
        var grid = Tiny with { Widths = new Dictionary<string, int> { ["resnet9"] = 4 } };
        var selected = grid.Victims().Where(v => v.Sparsity == (v.Activation == ActivationKind.Relu ? 0 : 0.5)).ToArray();

        var part = new VictimZoo(grid).Build(train, test, _dir, selected);
        part.Victims.Select(v => v.Id).Should().Equal(selected.Select(v => v.Id));

        var stages = new List<VictimProgress>();
        var whole = new VictimZoo(grid).Build(train, test, _dir, progress: new SyncProgress<VictimProgress>(stages.Add));
        whole.Victims.Select(v => v.Id).Should().Equal(grid.Victims().Select(v => v.Id));
        stages.Where(s => s.Stage == "kept").Select(s => s.Id).Should().BeEquivalentTo(selected.Select(v => v.Id));
        stages.Where(s => s.Stage == "done").Should().HaveCount(2);
        Directory.GetFiles(Path.Combine(_dir, "dense"), "*.rewind.safetensors").Should().HaveCount(2, "the dense networks trained for the selection are reused");
        FluentActions.Invoking(() => new VictimZoo(grid).Build(train, test, _dir, [new VictimAttributes("vgg13", 3, ActivationKind.Relu, 0)]))
            .Should().Throw<ArgumentException>().WithMessage("*vgg13-k3-relu-s0 is not in the grid*");
    }

    [Fact]
    public void A_folder_of_other_settings_is_refused_and_victims_are_reproducible()
    {
        var (train, test) = Data();
        var one = Tiny with { Widths = new Dictionary<string, int> { ["resnet9"] = 4 }, Activations = [ActivationKind.Tanh], Sparsities = [0.5] };
        var first = new VictimZoo(one).Build(train, test, Path.Combine(_dir, "a"));
        var second = new VictimZoo(one).Build(train, test, Path.Combine(_dir, "b"));
        using (var a = Classifier.Load(Path.Combine(_dir, "a", first.Victims[0].File)))
        using (var b = Classifier.Load(Path.Combine(_dir, "b", second.Victims[0].File)))
            a.Network.state_dict().Keys.Should().OnlyContain(k => a.Network.state_dict()[k].eq(b.Network.state_dict()[k]).all().item<bool>(), "the same seed gives the same victim");

        FluentActions.Invoking(() => new VictimZoo(one with { Epochs = 3 }).Build(train, test, Path.Combine(_dir, "a")))
            .Should().Throw<InvalidOperationException>().WithMessage("*other settings*");
        FluentActions.Invoking(() => new VictimZoo(one, seed: 1).Build(train, test, Path.Combine(_dir, "a")))
            .Should().Throw<InvalidOperationException>();
    }
}
