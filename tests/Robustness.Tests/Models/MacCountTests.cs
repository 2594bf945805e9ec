using System.Text.Json;
using FluentAssertions;
using Robustness.Models;
using Xunit;

namespace Robustness.Tests.Models;

/// <summary>
/// The cost model's MACs against PyTorch's own profiler (fixture written by
/// benchmarks/reference/count_macs_profiler.py: FLOPs / 2 of conv2d, addmm and bmm, counted from operator shapes,
/// independently of our hooks and the ViT's attention formula).
/// </summary>
public class MacCountTests
{
    public static TheoryData<string> Models() => new() { "resnet18_w64", "resnet18_w16", "vit_w48_d3", "vit_w192_d6" };

    [Theory]
    [MemberData(nameof(Models))]
    public void MACs_match_PyTorchs_profiler(string name)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(ModelTestSupport.Fixture("macs_pytorch_profiler.json")));
        var entry = document.RootElement.GetProperty("models").GetProperty(name);
        string architecture = entry.GetProperty("architecture").GetString()!;
        int width = entry.GetProperty("width").GetInt32();
        var spec = architecture == "vit"
            ? new ModelSpec("vit", Width: width, Depth: entry.GetProperty("depth").GetInt32()) { Parameters = ModelParameters.Empty.With("heads", entry.GetProperty("heads").GetInt32()) }
            : new ModelSpec(architecture, Width: width);
        long expected = entry.GetProperty("macs").GetInt64();

        using var classifier = Classifier.Create(spec, seed: 0);
        classifier.Macs.Should().Be(expected);
        if (architecture == "resnet18")
        {
            using var fromSpec = Classifier.Create(ArchSpecs.ResNet18(width).ToModelSpec(), seed: 0);
            fromSpec.Macs.Should().Be(expected, "the ResNet-18 spec is the same network");
        }
    }
}
