using FluentAssertions;
using Robustness.Training;
using TorchSharp;
using Xunit;

namespace Robustness.Tests.Training;

public class CheckpointSetTests
{
    private static readonly Robustness.Data.ImageSet Probe = TinyQuadrants.Create(8, seed: 99);

    [Fact]
    public void An_in_memory_set_keeps_independent_copies()
    {
        using var model = TinyQuadrants.Model(seed: 1);
        using var set = CheckpointSet.InMemory();
        set.Add(0, model);
        float[] before = TinyQuadrants.Logits(model, Probe);
        using (torch.no_grad())
            foreach (var p in model.Network.parameters()) p.add_(1f); // training would change the live weights

        using var loaded = set.Load(0);
        loaded.IsTraining.Should().BeFalse();
        TinyQuadrants.Logits(loaded, Probe).Should().Equal(before);
        set.Folder.Should().BeNull();
        set.Single().Path.Should().BeNull();
    }

    [Fact]
    public void A_disk_set_writes_one_file_per_epoch_and_reopens()
    {
        using var folder = new TempFolder();
        using var first = TinyQuadrants.Model(seed: 1);
        using var second = TinyQuadrants.Model(seed: 2);
        using (var set = CheckpointSet.Create(folder.Path))
        {
            set.Add(3, first);
            set.Add(7, second);
            set.Epochs.Should().Equal(3, 7);
        }

        Directory.GetFiles(folder.Path).Select(Path.GetFileName).Should()
            .BeEquivalentTo("epoch-0003.safetensors", "epoch-0007.safetensors", DiskCheckpointSet.IndexFileName);
        using var reopened = CheckpointSet.Open(folder.Path);
        reopened.Epochs.Should().Equal(3, 7);
        reopened.Select(c => c.EpochIndex).Should().Equal(3, 7);
        using var loaded = reopened.Load(7);
        loaded.IsTraining.Should().BeFalse();
        TinyQuadrants.Logits(loaded, Probe).Should().Equal(TinyQuadrants.Logits(second, Probe));
    }

    [Fact]
    public void Misuse_raises_clear_errors()
    {
        using var folder = new TempFolder();
        using var model = TinyQuadrants.Model();
        using (var set = CheckpointSet.Create(folder.Path))
        {
            set.Add(0, model);
            ((Action)(() => set.Add(0, model))).Should().Throw<ArgumentException>().WithParameterName("epochIndex");
            ((Action)(() => set.Load(5))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("epochIndex");
        }
        ((Action)(() => CheckpointSet.Create(folder.Path))).Should().Throw<IOException>().WithMessage("*Open*");

        File.Delete(Path.Combine(folder.Path, "epoch-0000.safetensors"));
        ((Action)(() => CheckpointSet.Open(folder.Path))).Should().Throw<InvalidDataException>().WithMessage("*epoch-0000.safetensors*missing*");

        File.WriteAllText(Path.Combine(folder.Path, DiskCheckpointSet.IndexFileName), "{ not json");
        ((Action)(() => CheckpointSet.Open(folder.Path))).Should().Throw<InvalidDataException>().WithMessage($"*{DiskCheckpointSet.IndexFileName}*");
        ((Action)(() => CheckpointSet.Open(Path.Combine(folder.Path, "nope")))).Should().Throw<DirectoryNotFoundException>();
    }
}
