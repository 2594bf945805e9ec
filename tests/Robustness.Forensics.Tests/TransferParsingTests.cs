using FluentAssertions;
using Robustness.Data;
using Robustness.Models;
using TorchSharp;
using static TorchSharp.torch;
using Xunit;

namespace Robustness.Forensics.Tests;

/// <summary>Four dense victims (ResNet-9 and VGG-11 x ReLU and ELU), PGD and FGSM at 16/255 on 40 images, half of them test images: built once for the class.</summary>
public sealed class TransferRecordsFixture : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("robustness-transfer-").FullName;

    public TransferRecordsFixture()
    {
        var sets = SyntheticImageSet.TrainTest(192, 40, seed: 3, size: 32, classes: 3);
        Zoo = Path.Combine(_dir, "zoo");
        new VictimZoo(VictimZooTests.Tiny with { Sparsities = [0], Epochs = 6 }).Build(sets.Train, sets.Test, Zoo);
        Records = new AttackRecorder([new RecordedAttack("pgd", 16.0 / 255, StepSize: 4.0 / 255, Steps: 5), new RecordedAttack("fgsm", 16.0 / 255)],
            new AttackRecordOptions { Images = 40, TestFraction = 0.5 }).Record(Zoo, sets.Test, Path.Combine(_dir, "records"));
    }

    public string Zoo { get; }

    public AttackRecordSet Records { get; }

    public string Folder(string name) => Path.Combine(_dir, name);

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}

/// <summary>The transfer study: each victim's examples replayed on the others, and whom the parser names for the ones that transfer.</summary>
public sealed class TransferParsingTests(TransferRecordsFixture fixture) : IClassFixture<TransferRecordsFixture>
{
    // A parser that names each attribute's first value whatever it sees (its heads' weights zero, their bias one-hot).
    private static ModelParsingNetwork FirstValueParser(AttributeSchema schema)
    {
        var network = new ModelParsingNetwork(schema, ParsingBackbone.ConvNet4, width: 8);
        using var noGrad = torch.no_grad();
        var parameters = network.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        parameters.Single(p => p.Key.EndsWith("heads.weight", StringComparison.Ordinal)).Value.zero_();
        var bias = parameters.Single(p => p.Key.EndsWith("heads.bias", StringComparison.Ordinal)).Value;
        bias.zero_();
        using var one = 1.0.ToScalar();
        int offset = 0;
        foreach (int classes in schema.Classes)
        {
            bias[offset].fill_(one);
            offset += classes;
        }
        network.eval();
        return network;
    }

    [Fact]
    public void Every_pair_counts_the_transfers_that_fool_a_target_right_on_the_clean_image_and_whom_the_parser_names()
    {
        var (zoo, records) = (fixture.Zoo, fixture.Records);
        var schema = AttributeSchema.Of(records.Shards.Select(s => s.Attributes));
        schema.Names.Should().Equal("architecture", "activation");
        using var parser = FirstValueParser(schema);

        var report = TransferParsing.Run(records, new TransferStudy(zoo, "pgd-eps16"), parser, ParsingInput.Perturbation);

        report.Setting.Should().Be("pgd-eps16");
        report.Victims.Should().Be(4);
        report.Pairs.Should().HaveCount(12, "every ordered pair of four victims");
        var (clean, labels) = records.Clean();
        var test = torch.tensor(records.Splits.TestImages.Select(i => (long)i).ToArray());
        var x = clean.index_select(0, test);
        var y = labels.index_select(0, test);
        var files = ZooIndex.Read(zoo)!.Victims.ToDictionary(v => v.Id, v => v.File);
        var shards = records.Shards.Where(s => s.Setting == "pgd-eps16").ToDictionary(s => s.Victim);
        foreach (var pair in report.Pairs)
        {
            // The same counts computed here from the records and the target's own predictions.
            var (adversarial, cleanPredictions, predictions) = records.Read(shards[pair.Source]);
            var source = cleanPredictions.index_select(0, test).eq(y).logical_and(predictions.index_select(0, test).ne(y));
            using var target = Classifier.Load(Path.Combine(zoo, files[pair.Target]));
            target.Eval();
            var right = target.Predict(x).eq(y).logical_and(source);
            var transferred = right.logical_and(target.Predict(adversarial.index_select(0, test)).ne(y));
            pair.SourceExamples.Should().Be((int)source.sum().item<long>());
            pair.TargetCorrect.Should().Be((int)right.sum().item<long>(), $"{pair.Source} -> {pair.Target}");
            pair.Transferred.Should().Be((int)transferred.sum().item<long>(), $"{pair.Source} -> {pair.Target}");

            var sourceLabels = schema.Labels(shards[pair.Source].Attributes);
            var targetLabels = schema.Labels(shards[pair.Target].Attributes);
            for (int a = 0; a < 2; a++)
            {
                pair.AsSource[a].Should().Be(sourceLabels[a] == 0 ? pair.Transferred : 0, "the parser names the first value");
                pair.AsTarget[a].Should().Be(targetLabels[a] == 0 ? pair.Transferred : 0);
            }
        }
        report.Transferred.Should().Be(report.Pairs.Sum(p => (long)p.Transferred)).And.BeGreaterThan(0, "16/255 PGD transfers between such small networks");
        report.Attempts.Should().Be(report.Pairs.Sum(p => (long)p.TargetCorrect));
        report.SourceExamples.Should().Be(report.Pairs.GroupBy(p => p.Source).Sum(g => (long)g.First().SourceExamples));
        foreach (var (score, a) in report.Attributes.Select((s, a) => (s, a)))
        {
            // Two values: where source and target differ, exactly one of them has the first value.
            score.Values.Should().Be(2);
            score.Transfers.Should().Be(report.Pairs.Where(p => schema.Labels(shards[p.Source].Attributes)[a] != schema.Labels(shards[p.Target].Attributes)[a]).Sum(p => (long)p.Transferred));
            if (score.Transfers > 0) (score.AsSource + score.AsTarget).Should().BeApproximately(1, 1e-9);
            double first = shards.Values.Where(s => schema.Labels(s.Attributes)[a] == 0).Sum(s => (double)report.Pairs.First(p => p.Source == s.Victim).SourceExamples);
            score.SourceAccuracy.Should().BeApproximately(first / report.SourceExamples, 1e-9);
        }

        var md = report.ToMarkdown("transfer.png");
        md.Should().Contain("pgd-eps16 crafted on each of 4 victims").And.Contain("| architecture | 2 |").And.Contain("![transfer attacks](transfer.png)");
        string chart = fixture.Folder("transfer.png");
        report.Chart(chart);
        File.ReadAllBytes(chart).Take(4).Should().Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47 });
    }

    [Fact]
    public void The_evaluation_runs_the_study_with_its_own_parser_and_refuses_a_study_it_cannot_run_before_training()
    {
        var (zoo, records) = (fixture.Zoo, fixture.Records);
        var evaluation = new ParsingEvaluation(new ParsingOptions { Epochs = 1, BatchSize = 16 });
        var report = evaluation.Run(records, transfer: new TransferStudy(zoo, "fgsm-eps16"));
        report.Transfer.Should().NotBeNull();
        report.Transfer!.Setting.Should().Be("fgsm-eps16");
        report.Transfer.Pairs.Should().HaveCount(12);
        report.ToMarkdown().Should().Contain("Transfer attacks (fgsm-eps16");
        string folder = fixture.Folder("report");
        ParsingEvaluation.Write(report, folder);
        File.ReadAllText(Path.Combine(folder, "parsing.md")).Should().Contain("![transfer attacks](transfer.png)");
        new FileInfo(Path.Combine(folder, "transfer.png")).Length.Should().BeGreaterThan(1000);

        // Checked before anything else: with a cancelled token, a later check would never be reached.
        var cancelled = new CancellationToken(canceled: true);
        FluentActions.Invoking(() => evaluation.Run(records, null, cancelled, new TransferStudy(zoo, "pgd-eps8")))
            .Should().Throw<ArgumentException>().WithMessage("*0 victim(s) attacked with 'pgd-eps8'*pgd-eps16, fgsm-eps16*");
        FluentActions.Invoking(() => evaluation.Run(records, null, cancelled, new TransferStudy(fixture.Folder("nowhere"))))
            .Should().Throw<ArgumentException>().WithMessage("*holds no victim zoo*");
    }
}
