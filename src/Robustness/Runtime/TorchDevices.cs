using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Runtime;

/// <summary>Parses device names (<c>cpu</c>, <c>cuda</c>, <c>cuda:1</c>, <c>auto</c>) into TorchSharp devices.</summary>
public static class TorchDevices
{
    /// <summary>The device names accepted by every long-running API and by the CLI's <c>--device</c>.</summary>
    public const string AllowedNames = "cpu, cuda, cuda:N or auto";

    /// <summary>
    /// Resolves a device name. <c>auto</c> (or null) picks CUDA when it is available, else the CPU. Asking for
    /// CUDA where it is not available raises an exception that says how to make it available.
    /// </summary>
    public static Device Resolve(string? name)
    {
        string value = (name ?? "auto").Trim().ToLowerInvariant();
        if (value is "" or "auto")
            return TorchRuntime.IsCudaAvailable() ? torch.CUDA : torch.CPU;
        if (value == "cpu") return torch.CPU;
        if (value == "cuda" || value.StartsWith("cuda:", StringComparison.Ordinal))
        {
            int index = 0;
            if (value.Length > 5 && !int.TryParse(value.AsSpan(5), out index) || index < 0)
                throw new ArgumentOutOfRangeException(nameof(name), name, $"Unknown device '{name}'. Allowed: {AllowedNames}.");
            if (!TorchRuntime.IsCudaAvailable())
                throw new InvalidOperationException(
                    $"Device '{name}' was asked for, but CUDA is not available. The bundled libtorch is CPU-only: point " +
                    $"{TorchRuntime.LibTorchDirectoryVariable} at a CUDA libtorch folder (for example PyTorch's torch/lib) " +
                    "or call TorchRuntime.UseLibTorch(folder) before the first TorchSharp call.");
            int count = torch.cuda.device_count();
            if (index >= count)
                throw new ArgumentOutOfRangeException(nameof(name), name, $"CUDA device {index} does not exist; this machine has {count}.");
            return torch.device(DeviceType.CUDA, index);
        }
        throw new ArgumentOutOfRangeException(nameof(name), name, $"Unknown device '{name}'. Allowed: {AllowedNames}.");
    }
}
