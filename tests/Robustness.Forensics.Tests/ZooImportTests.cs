using FluentAssertions;
using Robustness.Data;
using Robustness.Models;
using Robustness.Pruning;
using Xunit;

namespace Robustness.Forensics.Tests;

/// <summary>Importing a user's own models as a victim zoo: attributes read or measured, then attacked and parsed like a built zoo.</summary>
public sealed class ZooImportTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("robustness-zoo-import-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // A small-cnn, its convolutions pruned to the given share (global magnitude), saved under name.
    private string Model(string name, double sparsity, IReadOnlyList<string> classes)
    {
        using var model = Classifier.Create(new ModelSpec("small-cnn", classes.Count, 4, ImageSize: 32), Normalization.Cifar10, classes, seed: 1);
        if (sparsity > 0)
        {
            using var masks = MaskSet.ByGlobalMagnitude(VictimZoo.Convolutions(model), sparsity);
            masks.Apply(model);
        }
        string path = Path.Combine(_dir, name + ".safetensors");
        model.Save(path);
        return path;
    }

    [Fact]
    public void Imported_models_carry_measured_attributes_and_are_attacked_and_parsed_like_a_built_zoo()
    {
        var sets = SyntheticImageSet.TrainTest(32, 20, seed: 4, size: 32, classes: 3);
        string dense = Model("teacher", 0, sets.Test.ClassNames), pruned = Model("teacher-pwoa-4x", 0.75, sets.Test.ClassNames);
        string zoo = Path.Combine(_dir, "zoo");
        var reported = new List<VictimRecord>();
        var index = ZooImport.Import([dense, pruned], zoo, sets.Test, progress: new SyncProgress<VictimRecord>(reported.Add));

        index.Settings.Should().Be(ZooImport.Settings);
        index.Victims.Select(v => v.Id).Should().Equal("teacher", "teacher-pwoa-4x");
        reported.Should().HaveCount(2);
        index.Victims[0].Attributes.Should().Be(new VictimAttributes("small-cnn", 3, ActivationKind.Relu, 0));
        index.Victims[1].Attributes.Sparsity.Should().Be(0.75);
        index.Victims[1].ConvSparsity.Should().BeApproximately(0.75, 0.001);
        index.Victims.Should().OnlyContain(v => v.TestAccuracy >= 0 && v.TestAccuracy <= 1);
        VictimZoo.AttributesOf(Path.Combine(zoo, index.Victims[1].File)).Should().Be(index.Victims[1].Attributes, "the copy carries the attributes");
        ZooIndex.Read(zoo)!.Victims.Should().HaveCount(2);

        var records = new AttackRecorder([new RecordedAttack("fgsm", 8.0 / 255)], new AttackRecordOptions { Images = 20 }).Record(zoo, sets.Test, Path.Combine(_dir, "records"));
        records.Shards.Select(s => s.Victim).Should().Equal("teacher", "teacher-pwoa-4x");
        AttributeSchema.Of(records.Shards.Select(s => s.Attributes)).Names.Should().Equal(["sparsity"], "the only attribute that differs");

        // A zoo victim keeps the attributes it carries; importing again replaces by name and keeps the rest.
        var victim = ZooImport.Import([Path.Combine(zoo, index.Victims[1].File)], Path.Combine(_dir, "again"), kernelSize: 7, activation: ActivationKind.Tanh);
        victim.Victims.Single().Attributes.Should().Be(index.Victims[1].Attributes);
        ZooImport.Import([dense], zoo, kernelSize: 5).Victims.Should().HaveCount(2).And.Contain(v => v.Id == "teacher" && v.Attributes.KernelSize == 5);

        FluentActions.Invoking(() => ZooImport.Import([dense, Path.Combine(zoo, "victims", "teacher.safetensors")], Path.Combine(_dir, "twice")))
            .Should().Throw<ArgumentException>().WithMessage("*named 'teacher'*");
        FluentActions.Invoking(() => ZooImport.Import([Path.Combine(_dir, "missing.safetensors")], Path.Combine(_dir, "missing")))
            .Should().Throw<ArgumentException>().WithMessage("*does not exist*");
        var other = SyntheticImageSet.TrainTest(8, 8, seed: 4, size: 32, classes: 4);
        FluentActions.Invoking(() => ZooImport.Import([dense], Path.Combine(_dir, "classes"), other.Test))
            .Should().Throw<ArgumentException>().WithMessage("*classifies*");
    }

    [Fact]
    public void A_built_zoo_is_not_imported_into()
    {
        var sets = SyntheticImageSet.TrainTest(32, 10, seed: 4, size: 32, classes: 3);
        string built = Path.Combine(_dir, "built");
        new VictimZoo(VictimZooTests.Tiny with { Widths = new Dictionary<string, int> { ["resnet9"] = 2 }, Activations = [ActivationKind.Relu], Sparsities = [0], Epochs = 1, RewindEpoch = 0 })
            .Build(sets.Train, null, built);
        ZooIndex.Read(built)!.Victims.Single().TestAccuracy.Should().Be(double.NaN, "no test images: not measured, and the index still writes");
        FluentActions.Invoking(() => ZooImport.Import([Model("mine", 0, sets.Train.ClassNames)], built))
            .Should().Throw<InvalidOperationException>().WithMessage("*built by forensics zoo*");
    }
}
