using FluentAssertions;
using Robustness.Runtime;
using TorchSharp;
using Xunit;

namespace Robustness.Tests.Runtime;

public class TorchDevicesTests
{
    [Theory]
    [InlineData("cpu")]
    [InlineData(" CPU ")]
    public void Cpu_resolves_to_the_cpu(string name) => TorchDevices.Resolve(name).type.Should().Be(DeviceType.CPU);

    [Fact]
    public void Auto_picks_cuda_only_when_it_is_available()
    {
        var expected = TorchRuntime.IsCudaAvailable() ? DeviceType.CUDA : DeviceType.CPU;
        TorchDevices.Resolve("auto").type.Should().Be(expected);
        TorchDevices.Resolve(null).type.Should().Be(expected);
    }

    [Theory]
    [InlineData("tpu")]
    [InlineData("cuda:x")]
    [InlineData("cuda:-1")]
    [InlineData("gpu0")]
    public void Unknown_names_are_refused_with_the_allowed_ones(string name)
    {
        var act = () => TorchDevices.Resolve(name);
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage($"*{TorchDevices.AllowedNames}*");
    }

    [Fact]
    public void Cuda_without_a_cuda_libtorch_says_how_to_get_one()
    {
        if (TorchRuntime.IsCudaAvailable()) return; // only meaningful on the CPU-only build
        var act = () => TorchDevices.Resolve("cuda");
        act.Should().Throw<InvalidOperationException>().WithMessage($"*{TorchRuntime.LibTorchDirectoryVariable}*");
    }

    [Fact]
    public void A_missing_libtorch_folder_is_reported_by_name()
    {
        var act = () => TorchRuntime.UseLibTorch("/no/such/libtorch");
        act.Should().Throw<DirectoryNotFoundException>().WithMessage("*/no/such/libtorch*");
    }

    [Fact]
    public void A_classifier_created_on_a_resolved_device_lives_there()
    {
        using var model = Classifier.Create(new Robustness.Models.ModelSpec("small-cnn", 3, 2), device: TorchDevices.Resolve("cpu"));
        model.Device.type.Should().Be(DeviceType.CPU);
        model.Network.parameters().Should().OnlyContain(p => p.device.type == DeviceType.CPU);
    }
}
