using FluentAssertions;
using Robustness.Data;
using Robustness.Models;
using TorchSharp;
using static TorchSharp.torch;
using Xunit;

namespace Robustness.Forensics.Tests;

/// <summary>The model parsing network: schema, data drawn from records, and that it learns what the inputs carry.</summary>
public sealed class ModelParsingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("robustness-parsing-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void The_schema_keeps_the_attributes_that_vary_in_a_fixed_order()
    {
        var schema = AttributeSchema.Of(VictimGrid.Cpu.Victims());
        schema.Names.Should().Equal("architecture", "kernel", "activation", "sparsity");
        schema.Classes.Should().Equal(5, 3, 3, 3);
        schema.Labels(new VictimAttributes("resnet9", 7, ActivationKind.Tanh, 0.375)).Should().Equal(0, 2, 1, 1);

        var one = AttributeSchema.Of(VictimGrid.Cpu.Victims().Where(v => v.Architecture == "vgg11" && v.KernelSize == 3));
        one.Names.Should().Equal("activation", "sparsity");
        FluentActions.Invoking(() => AttributeSchema.Of(VictimGrid.Cpu.Victims().Take(1))).Should().Throw<ArgumentException>();
    }

    [Theory]
    [InlineData(ParsingBackbone.ConvNet4)]
    [InlineData(ParsingBackbone.ResNet9)]
    public void The_network_learns_attributes_the_inputs_carry_and_scores_them_against_chance(ParsingBackbone backbone)
    {
        // Attribute A (3 values) lifts one channel; attribute B (2 values) shifts every pixel up or down; both small next to the noise.
        var schema = new AttributeSchema(["a", "b"], [["0", "1", "2"], ["0", "1"]]);
        (Tensor X, Tensor Y) Make(int n, int seed)
        {
            var g = new torch.Generator((ulong)seed);
            var a = torch.randint(0, 3, [n], generator: g);
            var b = torch.randint(0, 2, [n], generator: g);
            var x = torch.randn([n, 3, 16, 16], generator: g).mul(0.03.ToScalar());
            x.add_(torch.nn.functional.one_hot(a, 3).to(torch.ScalarType.Float32).view(n, 3, 1, 1).mul(0.03.ToScalar()));
            x.add_(b.to(torch.ScalarType.Float32).mul(2.ToScalar()).sub(1.ToScalar()).view(n, 1, 1, 1).mul(0.02.ToScalar()));
            return (x, torch.stack([a, b], 1));
        }
        var (trainX, trainY) = Make(400, 1);
        var (testX, testY) = Make(200, 2);
        using var train = new ParsingData(trainX, trainY, schema);
        using var test = new ParsingData(testX, testY, schema);
        var parser = new ModelParser(new ParsingOptions { Backbone = backbone, Epochs = 6, BatchSize = 32, LearningRate = 0.05 });
        using var network = parser.Train(train);
        var scores = ModelParser.Evaluate(network, test);
        scores.Attributes.Should().Equal("a", "b");
        scores.Examples.Should().Be(200);
        scores.Chance[0].Should().BeInRange(0.3, 0.45);
        scores.Accuracy[0].Should().BeGreaterThan(0.9);
        scores.Accuracy[1].Should().BeGreaterThan(0.9);
        scores.NamedValues.Should().Equal(3, 2);
        scores.AnyOneAnswer.Should().BeFalse();
        scores.Cell(0).Should().NotContain(ParsingScores.OneAnswerMark);
    }

    [Fact]
    public void A_parser_that_gives_every_example_one_answer_is_marked_in_its_scores()
    {
        // All weights zero: every logit is zero and argmax names the first value for everything, as a collapsed run does.
        var schema = new AttributeSchema(["a", "b"], [["0", "1", "2"], ["0", "1"]]);
        using var network = new ModelParsingNetwork(schema, ParsingBackbone.ConvNet4, size: 16, width: 8);
        using (torch.no_grad()) foreach (var p in network.parameters()) p.zero_();
        var g = new torch.Generator(4);
        var labels = torch.stack([torch.tensor(new long[] { 0, 1, 2, 2, 1, 2 }), torch.tensor(new long[] { 1, 1, 0, 1, 1, 0 })], 1);
        using var data = new ParsingData(torch.randn([6, 3, 16, 16], generator: g), labels, schema);
        var scores = ModelParser.Evaluate(network, data);
        scores.NamedValues.Should().Equal(1, 1);
        scores.Accuracy[0].Should().BeApproximately(1.0 / 6, 1e-9, "it names value 0, which one example has");
        scores.Chance[0].Should().BeApproximately(0.5, 1e-9);
        scores.OneAnswer(0).Should().BeTrue();
        scores.AnyOneAnswer.Should().BeTrue();
        scores.Cell(0).Should().Be("16.7 % (50.0 %) " + ParsingScores.OneAnswerMark);
    }

    [Fact]
    public void A_diverged_training_run_is_an_error_not_a_chance_level_parser()
    {
        var schema = new AttributeSchema(["a"], [["0", "1"]]);
        var g = new torch.Generator(3);
        using var data = new ParsingData(torch.randn([64, 3, 16, 16], generator: g), torch.randint(0, 2, [64, 1], generator: g), schema);
        var parser = new ModelParser(new ParsingOptions { Epochs = 3, BatchSize = 16, LearningRate = 1e12 });
        FluentActions.Invoking(() => parser.Train(data)).Should().Throw<InvalidOperationException>().WithMessage("Training diverged*learning rate 1000000000000*");
    }

    [Fact]
    public void A_parser_file_round_trips_with_its_denoiser()
    {
        var schema = new AttributeSchema(["kernel", "activation"], [["3", "5", "7"], ["relu", "tanh"]]);
        torch.random.manual_seed(1);
        using var network = new ModelParsingNetwork(schema, ParsingBackbone.ConvNet4, size: 16, width: 64);
        network.eval();
        var denoiser = new DnCnn(3, 8);
        using (torch.no_grad()) foreach (var p in denoiser.parameters()) p.add_(0.01.ToScalar());
        using var file = new ParserFile(network, ParsingInput.Denoised, 16, denoiser, new DenoiserOptions { Depth = 3, Width = 8 });
        string path = Path.Combine(_dir, "parser.safetensors");
        file.Save(path);
        using var loaded = ParserFile.Load(path);
        loaded.Input.Should().Be(ParsingInput.Denoised);
        loaded.Network.Schema.Values[0].Should().Equal("3", "5", "7");
        using var scope = torch.NewDisposeScope();
        var images = torch.rand([4, 3, 16, 16], generator: new torch.Generator(2));
        loaded.Parse(images).Should().BeEquivalentTo(file.Parse(images), o => o.WithStrictOrdering());
        loaded.Parse(images)[0].Attributes.Should().Equal("kernel", "activation");
        FluentActions.Invoking(() => loaded.Parse(torch.rand(1, 3, 32, 32))).Should().Throw<ArgumentException>().WithMessage("*16, 16*");
        FluentActions.Invoking(() => new ParserFile(network, ParsingInput.Denoised, 16)).Should().Throw<ArgumentException>();
    }

    [Fact]
    public void The_heat_map_draws_a_matrix_with_its_values()
    {
        var schema = new AttributeSchema(["a"], [["0", "1"]]);
        ParsingScores Scores(double a) => new(schema.Names, [a], [0.5], 10);
        var cells = new[] { ("fgsm", "fgsm", 0.95), ("fgsm", "pgd", 0.7), ("pgd", "fgsm", 0.55), ("pgd", "pgd", 0.9), ("pgd", "square", 0.4) }
            .Select(c => new ParsingCell(c.Item1, c.Item2, Scores(c.Item3))).ToList();
        string path = Path.Combine(_dir, "matrix.png");
        ParsingEvaluation.HeatMap(path, "test", cells);
        var bytes = File.ReadAllBytes(path);
        bytes.Take(4).Should().Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47 });
        var report = new ParsingReport(schema, ParsingInput.Perturbation, new ParsingOptions(), cells, [], [], "records", 1);
        report.InDistribution.Select(c => c.Test).Should().Equal("fgsm", "pgd");
        var md = report.ToMarkdown();
        md.Should().Contain("| fgsm | 95.0 % | 70.0 % | - |").And.Contain("| pgd | 55.0 % | 90.0 % | 40.0 % |").And.Contain("95.0 % (50.0 %)");
    }

    [Fact]
    public void Data_from_records_holds_the_successful_perturbations_with_their_victims_labels()
    {
        var sets = SyntheticImageSet.TrainTest(64, 30, seed: 3, size: 32, classes: 3);
        var grid = VictimZooTests.Tiny with { Widths = new Dictionary<string, int> { ["resnet20"] = 2 }, Sparsities = [0.5] };
        string zoo = Path.Combine(_dir, "zoo"), folder = Path.Combine(_dir, "records");
        new VictimZoo(grid).Build(sets.Train, sets.Test, zoo);
        var records = new AttackRecorder([new RecordedAttack("fgsm", 16.0 / 255), new RecordedAttack("pgd", 8.0 / 255, Steps: 3)], new AttackRecordOptions { Images = 30 })
            .Record(zoo, sets.Test, folder);
        var schema = AttributeSchema.Of(records.Shards.Select(s => s.Attributes));
        schema.Names.Should().Equal("activation");
        var images = Enumerable.Range(0, 30).ToArray();

        using var data = ParsingData.From(records, schema, s => s.Attack == "fgsm", images);
        var (clean, labels) = records.Clean();
        long expected = 0;
        foreach (var shard in records.Shards.Where(s => s.Attack == "fgsm"))
        {
            var (adversarial, cleanPredictions, predictions) = records.Read(shard);
            expected += cleanPredictions.eq(labels).logical_and(predictions.ne(labels)).sum().item<long>();
        }
        data.Count.Should().Be(expected).And.BeGreaterThan(0);
        data.Inputs.abs().max().item<float>().Should().BeLessThanOrEqualTo((float)(16.0 / 255 + 1e-5), "perturbations, not images");
        data.Labels.shape.Should().Equal(expected, 1);

        using var all = ParsingData.From(records, schema, s => true, images, ParsingInput.Adversarial, successfulOnly: false);
        all.Count.Should().Be(2 * 2 * 30, "two victims x two settings x thirty images");
        all.Inputs.min().item<float>().Should().BeGreaterThanOrEqualTo(0, "adversarial images");
    }
}
