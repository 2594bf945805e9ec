using FluentAssertions;
using Robustness.Attacks;
using Robustness.Data;
using Robustness.Models;
using TorchSharp;
using Xunit;

namespace Robustness.Forensics.Tests;

/// <summary>The attack records: every victim x setting as a shard within its budget, splits, resuming; the AutoAttack sequence.</summary>
public sealed class AttackRecordTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("robustness-records-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void The_presets_keep_every_attack_type_and_build()
    {
        RecordedAttack.Full.Should().HaveCount(27);
        RecordedAttack.Full.Select(a => a.Label).Should().OnlyHaveUniqueItems().And.Contain(["pgd-eps8", "cw-l2-c0.1", "autoattack-eps16", "nes-eps4"]);
        RecordedAttack.Cpu.Select(a => a.Attack).Distinct().Should().BeEquivalentTo(RecordedAttack.Types);
        RecordedAttack.Cpu.Where(a => a.Attack == "pgd").Select(a => a.EpsilonPixels).Should().Equal(4.0, 8.0, 12.0, 16.0);
        foreach (var setting in RecordedAttack.Full.Concat(RecordedAttack.Cpu))
        {
            var attack = setting.Build(0);
            attack.Epsilon.Should().Be(setting.Epsilon, setting.Label);
        }
        RecordedAttack.Full.Single(a => a.Label == "pgd-eps4").Build(0).Options.Should().BeOfType<PgdOptions>().Which.StepSize.Should().BeApproximately(0.5 / 255, 1e-9);
        // The query attacks' schedules can cross their budget: RED-adv's 500 steps of 0.0005, and the cpu set's fewer, larger steps.
        foreach (var setting in RecordedAttack.Full.Concat(RecordedAttack.Cpu).Where(a => a.Attack is "zo-signsgd" or "nes"))
        {
            var options = setting.Build(0).Options.Should().BeAssignableTo<ZerothOrderOptions>().Subject;
            (options.Steps * options.StepSize).Should().BeGreaterThanOrEqualTo(2 * setting.Epsilon!.Value, setting.Label);
        }
        RecordedAttack.Full.Single(a => a.Label == "nes-eps4").Build(0).Options.Should().BeOfType<NesOptions>().Which.StepSize.Should().Be(0.0005);
    }

    [Fact]
    public void The_autoattack_sequence_keeps_the_first_success_and_the_clean_image_where_all_fail()
    {
        var (train, test) = Sets();
        using var model = Classifier.Create(new ModelSpec("small-cnn", 3, 4, ImageSize: 32), Normalization.Cifar10, train.ClassNames, seed: 0);
        new Robustness.Training.Trainer(new Robustness.Training.TrainingOptions { Epochs = 2, BatchSize = 16, LearningRate = 0.05 }).Train(model, train);
        model.Eval();
        using var scope = torch.NewDisposeScope();
        var x = test.ToTensor(0, 12);
        var y = test.LabelsTensor(0, 12);
        var sequence = new AttackSequence([new Fgsm(new FgsmOptions { Epsilon = 2.0 / 255 }), new Pgd(new PgdOptions { Epsilon = 2.0 / 255, Steps = 5 })]);
        var adversarial = sequence.Run(model, x, y);
        adversarial.sub(x).abs().max().item<float>().Should().BeLessThanOrEqualTo((float)(2.0 / 255 + 1e-6));
        var fooled = model.Predict(adversarial).ne(y);
        var unchanged = adversarial.sub(x).abs().flatten(1).amax([1L]).eq(0);
        // Every image is either fooled or returned clean (never a failed attempt), and wrong-from-the-start images are left alone.
        fooled.logical_or(unchanged).all().item<bool>().Should().BeTrue();
        var wrong = model.Predict(x).ne(y);
        unchanged.logical_or(wrong.logical_not()).all().item<bool>().Should().BeTrue();
        wrong.logical_and(unchanged.logical_not()).any().item<bool>().Should().BeFalse();
    }

    private static (ImageSet Train, ImageSet Test) Sets()
    {
        var sets = SyntheticImageSet.TrainTest(64, 30, seed: 3, size: 32, classes: 3);
        return (sets.Train, sets.Test);
    }

    [Fact]
    public void Records_every_victim_and_setting_within_budget_splits_and_resumes()
    {
        var (train, test) = Sets();
        var grid = VictimZooTests.Tiny with { Widths = new Dictionary<string, int> { ["resnet20"] = 2, ["resnet9"] = 2 }, Activations = [ActivationKind.Relu], Sparsities = [0, 0.5] };
        string zoo = Path.Combine(_dir, "zoo"), records = Path.Combine(_dir, "records");
        new VictimZoo(grid).Build(train, test, zoo);
        RecordedAttack[] settings =
        [
            new("fgsm", 8.0 / 255), new("pgd", 4.0 / 255, StepSize: 0.5 / 255, Steps: 3), new("cw-l2", null, Constant: 1, Steps: 5),
            new("square", 8.0 / 255, Queries: 20), new("zo-signsgd", 8.0 / 255, Steps: 3), new("nes", 8.0 / 255, Steps: 3),
        ];
        var recorder = new AttackRecorder(settings, new AttackRecordOptions { Images = 20, BatchSize = 8, HeldOutVictimFraction = 0.5 });
        var reported = new List<AttackShard>();
        var set = recorder.Record(zoo, test, records, new SyncProgress<AttackShard>(reported.Add));

        set.Shards.Should().HaveCount(4 * settings.Length);
        reported.Should().HaveCount(set.Shards.Count);
        var (clean, labels) = set.Clean();
        clean.shape.Should().Equal(20, 3, 32, 32);
        foreach (var shard in set.Shards)
        {
            var (adversarial, _, predictions) = set.Read(shard);
            adversarial.shape.Should().Equal(clean.shape);
            predictions.shape.Should().Equal(20);
            if (shard.EpsilonPixels is double eps)
                adversarial.sub(clean).abs().max().item<float>().Should().BeLessThanOrEqualTo((float)(eps / 255 + 1e-5), shard.Setting);
            adversarial.min().item<float>().Should().BeGreaterThanOrEqualTo(0);
            adversarial.max().item<float>().Should().BeLessThanOrEqualTo(1);
            shard.Attributes.Should().Be(VictimZoo.AttributesOf(Path.Combine(zoo, "victims", shard.Victim + ".safetensors")));
            shard.FooledRate.Should().Be(predictions.ne(labels).to(torch.ScalarType.Float32).mean().item<float>());
        }

        var s = set.Splits;
        s.TrainImages.Concat(s.ValidationImages).Concat(s.TestImages).Order().Should().Equal(Enumerable.Range(0, 20));
        s.TestImages.Should().HaveCount(4);
        s.HeldOutVictims.Should().HaveCount(2).And.OnlyContain(v => v.StartsWith(s.HeldOutVictims[0].Split("-s")[0]), "a dense network is held out with all its sparsities");
        s.TrainVictims.Should().HaveCount(2).And.NotIntersectWith(s.HeldOutVictims);

        var again = new List<AttackShard>();
        recorder.Record(zoo, test, records, new SyncProgress<AttackShard>(again.Add)).Shards.Should().HaveCount(set.Shards.Count);
        again.Should().BeEmpty("every shard was indexed");
        FluentActions.Invoking(() => new AttackRecorder(settings, new AttackRecordOptions { Images = 20, Seed = 5 }).Record(zoo, test, records))
            .Should().Throw<InvalidOperationException>().WithMessage("*other images*");
        FluentActions.Invoking(() => new AttackRecorder([new RecordedAttack("boundary", 0.1)])).Should().Throw<ArgumentOutOfRangeException>();

        // Records of part of the zoo, resumed over all of it: the held-out victims are drawn again over every victim,
        // the image splits stay as they were.
        string grown = Path.Combine(_dir, "grown");
        var part = recorder.Record(zoo, test, grown, select: victims => [.. victims.Where(v => v.Attributes.Architecture == "resnet9")]);
        part.Splits.TrainVictims.Concat(part.Splits.HeldOutVictims).Should().HaveCount(2);
        var whole = recorder.Record(zoo, test, grown);
        whole.Shards.Should().HaveCount(4 * settings.Length);
        whole.Splits.TrainVictims.Concat(whole.Splits.HeldOutVictims).Should().BeEquivalentTo(set.Splits.TrainVictims.Concat(set.Splits.HeldOutVictims));
        whole.Splits.TrainImages.Should().Equal(part.Splits.TrainImages);
        whole.Splits.TestImages.Should().Equal(part.Splits.TestImages);
    }
}
