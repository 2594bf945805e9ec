using Robustness.Models;
using TorchSharp;
using static TorchSharp.torch;
using Xunit;

namespace Robustness.Tests.Models;

/// <summary>Small specs of every zoo architecture, temporary files and repository paths for the model tests.</summary>
internal static class ModelTestSupport
{
    /// <summary>One tiny spec per architecture (fast on two CPU cores).</summary>
    public static readonly IReadOnlyDictionary<string, ModelSpec> SmallSpecs = new Dictionary<string, ModelSpec>
    {
        ["small-cnn"] = new("small-cnn", Classes: 10, Width: 4, ImageSize: 16),
        ["resnet18"] = new("resnet18", Classes: 10, Width: 4, ImageSize: 16),
        ["preact-resnet18"] = new("preact-resnet18", Classes: 10, Width: 4, ImageSize: 16),
        ["vgg11"] = new("vgg11", Classes: 10, Width: 4, ImageSize: 32),
        ["vgg16"] = new("vgg16", Classes: 10, Width: 4, ImageSize: 32),
        ["wide-resnet"] = new("wide-resnet", Classes: 10, Width: 4, Depth: 10, WidenFactor: 1, ImageSize: 16),
        ["lenet"] = new("lenet", Classes: 10, Width: 4, InputChannels: 1, ImageSize: 28),
        ["vit"] = new("vit", Classes: 10, Width: 12, Depth: 2, ImageSize: 16) { Parameters = ModelParameters.Empty.With("heads", 2) },
        ["arch-spec"] = MixedArchSpec.ToModelSpec(10, imageSize: 16),
    };

    /// <summary>A small spec with every residual block kind, two kernel sizes and two activations.</summary>
    public static ArchSpec MixedArchSpec => new(new StemSpec(4),
    [
        new(BlockKind.Basic, 4, 1),
        new(BlockKind.Bottleneck, 8, 1, KernelSize: 5, Stride: 2, Activation: ActivationKind.Tanh, Expansion: 2),
        new(BlockKind.InvertedResidual, 8, 2, Stride: 2, Activation: ActivationKind.Elu, Expansion: 2),
    ]);

    public static TheoryData<string> Architectures()
    {
        var data = new TheoryData<string>();
        foreach (var name in SmallSpecs.Keys) data.Add(name);
        return data;
    }

    /// <summary>Seeded images in [0,1] matching <paramref name="spec"/>.</summary>
    public static Tensor Images(ModelSpec spec, int count = 3, long seed = 11)
    {
        var generator = new Generator((ulong)seed);
        return torch.rand([count, spec.InputChannels, spec.ImageSize, spec.ImageSize], generator: generator);
    }

    /// <summary>Same shape, dtype and every element equal.</summary>
    public static bool Identical(Tensor a, Tensor b) =>
        a.dtype == b.dtype && a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    /// <summary>A few train-mode forwards so batch-norm running statistics differ from their defaults.</summary>
    public static void WarmUpBatchNorm(Classifier classifier)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        using var mode = classifier.TrainMode();
        for (int i = 0; i < 2; i++) classifier.Forward(Images(classifier.Spec, 4, seed: 100 + i));
    }

    /// <summary>The repository root (the folder holding Directory.Packages.props), found from the test binaries.</summary>
    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Directory.Packages.props"))) return dir.FullName;
            throw new DirectoryNotFoundException($"No repository root above {AppContext.BaseDirectory}.");
        }
    }

    public static string Fixture(string name) => Path.Combine(RepositoryRoot, "tests", "Robustness.Tests", "Models", "Fixtures", name);
}

/// <summary>A fresh temporary folder, deleted on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "robustness-models-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
