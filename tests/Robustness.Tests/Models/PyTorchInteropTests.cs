using System.Diagnostics;
using FluentAssertions;
using Robustness.Models;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;

namespace Robustness.Tests.Models;

/// <summary>
/// Weights move between PyTorch and Robustness: the fixtures were written by
/// benchmarks/reference/make_resnet18_fixture.py (a PyTorch ResNet-18, width 16, CIFAR-10 normalisation inside
/// its forward); the reverse direction runs that script on a file Classifier.Save wrote, when Debian's PyTorch is
/// installed.
/// </summary>
public class PyTorchInteropTests(ITestOutputHelper output)
{
    private const string PythonWithTorch = "/usr/bin/python3";
    private static readonly ModelSpec FixtureSpec = new("resnet18", Classes: 10, Width: 16, ImageSize: 32);

    [Fact]
    public void A_PyTorch_state_dict_loads_and_gives_PyTorchs_logits()
    {
        using var scope = torch.NewDisposeScope();
        var (io, _) = SafeTensors.Load(ModelTestSupport.Fixture("resnet18_w16_io.safetensors"));
        using var input = io["input"];
        using var expected = io["logits"];
        // PyTorch normalised inside forward, so the classifier carries the same CIFAR-10 normalisation.
        using var classifier = Classifier.Create(FixtureSpec, Normalization.Cifar10, seed: 0);

        classifier.LoadWeights(ModelTestSupport.Fixture("resnet18_w16.safetensors"));
        classifier.Eval();
        var logits = classifier.Forward(input);

        input.shape.Should().Equal(4, 3, 32, 32);
        double difference = (logits - expected).abs().max().item<float>();
        output.WriteLine($"max |logit difference| = {difference:g3}");
        difference.Should().BeLessThan(1e-4);
        classifier.Network.state_dict()["bn1.num_batches_tracked"].item<long>().Should().Be(3, "the script ran three train-mode batches");
        classifier.Network.state_dict()["bn1.running_mean"].abs().sum().item<float>().Should().BeGreaterThan(0);
    }

    [Fact]
    public void A_plain_state_dict_without_metadata_points_to_LoadWeights()
    {
        var act = () => Classifier.Load(ModelTestSupport.Fixture("resnet18_w16.safetensors"));
        act.Should().Throw<InvalidDataException>().WithMessage("*robustness.architecture*LoadWeights*");
    }

    [Fact]
    public void A_file_saved_here_loads_in_PyTorch_with_the_same_logits()
    {
        if (!TorchPythonAvailable())
        {
            output.WriteLine($"{PythonWithTorch} with torch is not available; reverse check skipped.");
            return;
        }
        using var scope = torch.NewDisposeScope();
        using var folder = new TempFolder();
        var spec = FixtureSpec with { Width = 8 };
        using var classifier = Classifier.Create(spec, Normalization.Cifar10, seed: 9);
        ModelTestSupport.WarmUpBatchNorm(classifier);
        classifier.Eval();
        var input = ModelTestSupport.Images(spec, 4, seed: 21);
        var logits = classifier.Forward(input);
        string weights = folder.File("resnet18_w8.safetensors"), io = folder.File("io.safetensors");
        classifier.Save(weights);
        SafeTensors.Save(io, new Dictionary<string, torch.Tensor> { ["input"] = input, ["logits"] = logits });

        var (exitCode, text) = RunPython(Path.Combine(ModelTestSupport.RepositoryRoot, "benchmarks", "reference", "make_resnet18_fixture.py"), "verify", weights, io);

        output.WriteLine(text);
        exitCode.Should().Be(0, text);
    }

    internal static bool TorchPythonAvailable()
    {
        if (!File.Exists(PythonWithTorch)) return false;
        try { return RunPython("-c", "import torch, numpy").ExitCode == 0; }
        catch (System.ComponentModel.Win32Exception) { return false; }
    }

    internal static (int ExitCode, string Output) RunPython(params string[] arguments)
    {
        var info = new ProcessStartInfo(PythonWithTorch) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in arguments) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(120_000))
        {
            process.Kill();
            throw new TimeoutException("python did not finish within 2 minutes.");
        }
        return (process.ExitCode, stdout + stderr.Result);
    }
}
