using FluentAssertions;
using Robustness.Data;
using Robustness.Models;
using Robustness.Protection;
using TorchSharp;
using Xunit;

namespace Robustness.Forensics.Tests;

/// <summary>The protection-parsing study: sources, protectors within budget, parsers scored on unseen images, resuming.</summary>
public sealed class ProtectionParsingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("robustness-protection-parsing-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly ProtectionParsingOptions Tiny = new()
    {
        Architectures = ["resnet9", "vgg11"],
        CheckpointCounts = [1, 3],
        Width = 4,
        SourceEpochs = 3,
        Images = 30,
        Sep = new SepOptions { Iterations = 2 },
        BatchSize = 16,
        TestFraction = 0.2,
        Parser = new ParsingOptions { Epochs = 2, BatchSize = 32 },
        Denoiser = new DenoiserOptions { Depth = 3, Width = 8, Epochs = 1 },
    };

    [Fact]
    public void Every_protector_protects_the_same_images_within_budget_and_parsers_are_scored_on_images_they_never_saw_then_it_resumes()
    {
        var sets = SyntheticImageSet.TrainTest(96, 40, seed: 5, size: 32, classes: 3);
        string folder = Path.Combine(_dir, "study");
        var messages = new List<string>();
        var report = new ProtectionParsing(Tiny).Run(sets.Train, sets.Test, folder, new SyncProgress<string>(messages.Add));

        report.Protectors.Select(p => p.Id).Should().Equal("resnet9-k1", "resnet9-k3", "vgg11-k1", "vgg11-k3");
        report.Schema.Names.Should().Equal("source architecture", "checkpoints");
        report.Schema.Values[1].Should().Equal("1", "3");
        report.TrainImages.Should().Be(24);
        report.TestImages.Should().Be(6);
        report.SourceAccuracy.Keys.Should().BeEquivalentTo(["resnet9", "vgg11"]);
        messages.Count(m => m.Contains("source model", StringComparison.Ordinal)).Should().Be(2, "one source per architecture");
        messages.Count(m => m.StartsWith("protecting ", StringComparison.Ordinal)).Should().Be(4);
        Directory.GetFiles(Path.Combine(folder, "sources", "resnet9"), "epoch-*.safetensors").Should().HaveCount(3, "a checkpoint per epoch");

        var clean = torch.tensor(sets.Test.Pixels.ToArray(), [40, 3, 32, 32], torch.ScalarType.Byte).to(torch.ScalarType.Int16);
        foreach (var run in report.Runs)
        {
            var (tensors, metadata) = SafeTensors.Load(Path.Combine(folder, run.File));
            metadata["checkpoints"].Should().Be(run.Protector.Checkpoints.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var stored = tensors["protected"];
            stored.shape.Should().Equal(30, 3, 32, 32);
            run.MaxAbsolute.Should().BeGreaterThan(0).And.BeLessThanOrEqualTo(8, "SEP stays in its 8/255 budget");
            // The protected images are a subset of the test images, each within 8 levels of one of them: the same 30 for every protector.
            var distance = stored.to(torch.ScalarType.Int16).unsqueeze(1).sub(clean.unsqueeze(0)).abs().flatten(2).amax([2L]);
            distance.amin([1L]).max().item<short>().Should().BeLessThanOrEqualTo(8);
        }
        File.Exists(Path.Combine(folder, "protected", "resnet9-k1.safetensors.partial")).Should().BeFalse();

        report.Results.Select(r => r.Input).Should().Equal(ParsingInput.Perturbation, ParsingInput.Adversarial, ParsingInput.Denoised);
        report.Results.Select(r => r.EstimateError.HasValue).Should().Equal(false, false, true);
        // A denoiser that estimated nothing (residual 0) would be off by the mean perturbation; any training at all moves it.
        report.Results[2].EstimateError!.Value.Should().BeGreaterThan(0).And.BeLessThan(report.Runs.Average(r => r.MeanAbsolute) + 1);
        foreach (var result in report.Results)
        {
            result.Scores.Examples.Should().Be(4 * 6, "every protector's test images");
            result.Confusion.Should().HaveCount(4).And.OnlyContain(row => row.Sum() == 6, "each protector's six test images are counted once");
            result.Scores.Chance.Should().Equal(0.5, 0.5);
            double exact = result.Confusion.Select((row, i) => (double)row[i]).Sum() / 24;
            result.ExactAccuracy.Should().BeApproximately(exact, 1e-12);
            // A protector is named exactly only if every attribute is right, so exact accuracy is at most each attribute's.
            result.ExactAccuracy.Should().BeLessThanOrEqualTo(result.Scores.Accuracy.Min() + 1e-12);
        }

        ProtectionParsing.Write(report, folder);
        File.ReadAllText(Path.Combine(folder, "protection.md")).Should().Contain("| resnet9-k3 |").And.Contain("exact protector (chance)").And.Contain("(confusion-protected.png)");
        foreach (string chart in new[] { "confusion-perturbation.png", "confusion-protected.png", "confusion-denoised.png" })
            File.ReadAllBytes(Path.Combine(folder, chart)).Take(4).Should().Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47 });
        new ProtectionParsing(Tiny with { Denoiser = null }).Run(sets.Train, sets.Test, folder).Results.Should().HaveCount(2, "no denoiser, no third parser");

        messages.Clear();
        var again = new ProtectionParsing(Tiny).Run(sets.Train, sets.Test, folder, new SyncProgress<string>(messages.Add));
        messages.Should().NotContain(m => m.Contains("source model", StringComparison.Ordinal) || m.StartsWith("protecting ", StringComparison.Ordinal), "sources and protected images are kept");
        again.Runs.Should().Equal(report.Runs);
        again.Results[0].Confusion.Should().BeEquivalentTo(report.Results[0].Confusion, o => o.WithStrictOrdering(), "the parsers are seeded");

        FluentActions.Invoking(() => new ProtectionParsing(Tiny with { Sep = new SepOptions { Iterations = 3 } }).Run(sets.Train, sets.Test, folder))
            .Should().Throw<InvalidOperationException>().WithMessage("*other settings*");
    }

    [Fact]
    public void Bad_settings_are_refused_naming_them()
    {
        FluentActions.Invoking(() => new ProtectionParsing(Tiny with { CheckpointCounts = [1, 4] })).Should().Throw<ArgumentOutOfRangeException>()
            .Where(e => e.ParamName == nameof(ProtectionParsingOptions.CheckpointCounts)).WithMessage("*[1, 3]*");
        FluentActions.Invoking(() => new ProtectionParsing(Tiny with { Architectures = ["resnet9"], CheckpointCounts = [3] })).Should().Throw<ArgumentException>()
            .WithMessage("*differ in something*");
        FluentActions.Invoking(() => new ProtectionParsing(Tiny with { Architectures = ["resnet50", "vgg11"] })).Should().Throw<ArgumentOutOfRangeException>()
            .Where(e => e.ParamName == nameof(ProtectionParsingOptions.Architectures));
        FluentActions.Invoking(() => new ProtectionParsing(Tiny with { Sep = new SepOptions { Variant = SepVariant.FeatureAlignment } })).Should().Throw<ArgumentException>()
            .WithMessage("*plain SEP*");
    }
}
