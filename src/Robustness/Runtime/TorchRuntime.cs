using System.Runtime.InteropServices;
using TorchSharp;

namespace Robustness.Runtime;

/// <summary>
/// Chooses which libtorch TorchSharp runs on. By default the application's bundled libtorch (TorchSharp-cpu) is
/// used. A user with another libtorch, for example the CUDA libraries of a PyTorch install
/// (<c>python -c "import torch,os;print(os.path.dirname(torch.__file__))"</c> + <c>/lib</c>), sets the
/// environment variable <see cref="LibTorchDirectoryVariable"/> or calls <see cref="UseLibTorch"/> before the
/// first TorchSharp call; the libraries are then loaded from that folder and CUDA is initialised.
/// </summary>
public static class TorchRuntime
{
    /// <summary>Environment variable naming a libtorch folder to load instead of the bundled one.</summary>
    public const string LibTorchDirectoryVariable = "ROBUSTNESS_LIBTORCH_DIR";

    private static readonly object Gate = new();
    private static string? _loadedFrom;
    private static bool _cudaChecked;
    private static bool _cudaAvailable;

    // Load order matters: each library depends on the ones before it. The CUDA pair is optional.
    private static readonly string[] CoreLibraries = ["libc10", "libtorch_cpu"];
    private static readonly string[] CudaLibraries = ["libc10_cuda", "libtorch_cuda"];
    private static readonly string[] FinalLibraries = ["libtorch"];

    /// <summary>The libtorch folder in use, or null for the bundled libtorch.</summary>
    public static string? LibTorchDirectory => _loadedFrom;

    /// <summary>
    /// Loads libtorch from <paramref name="directory"/> (a folder holding libc10, libtorch_cpu, libtorch and, for
    /// GPUs, libc10_cuda and libtorch_cuda). Call it before anything else touches TorchSharp. The folders that
    /// those libraries depend on (CUDA runtime, cuDNN, ...) must be findable by the system loader, e.g. via
    /// LD_LIBRARY_PATH.
    /// </summary>
    public static void UseLibTorch(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"libtorch folder '{directory}' does not exist (set by {LibTorchDirectoryVariable} or UseLibTorch).");
        lock (Gate)
        {
            if (_loadedFrom is not null)
            {
                if (Path.GetFullPath(_loadedFrom) == Path.GetFullPath(directory)) return;
                throw new InvalidOperationException($"libtorch was already loaded from '{_loadedFrom}'; it cannot be switched within a process.");
            }
            foreach (string name in CoreLibraries) Load(directory, name, required: true);
            bool cuda = true;
            foreach (string name in CudaLibraries) cuda &= Load(directory, name, required: false);
            foreach (string name in FinalLibraries) Load(directory, name, required: true);
            _loadedFrom = directory;
            if (cuda) torch.InitializeDeviceType(DeviceType.CUDA);
        }
    }

    /// <summary>Applies <see cref="LibTorchDirectoryVariable"/> when it is set; called by the CLI at start-up.</summary>
    public static void ConfigureFromEnvironment()
    {
        string? dir = Environment.GetEnvironmentVariable(LibTorchDirectoryVariable);
        if (!string.IsNullOrWhiteSpace(dir)) UseLibTorch(dir);
    }

    /// <summary>
    /// Checks that libtorch computes correctly and reproducibly on this CPU: the operators of a small CNN (3x3
    /// convolutions at small channel counts, forward and backward; batch norm; pooling) and three SGD steps of a
    /// width-4 SmallCnn, each run <paramref name="repeats"/> times, must be finite, give the same bytes every time and
    /// match a float64 reference. About a second on two cores. <c>robustness doctor</c> runs it and exits 1 when it fails.
    /// </summary>
    public static RuntimeSelfCheckReport SelfCheck(int repeats = 2)
    {
        ConfigureFromEnvironmentOnce();
        return KernelSelfCheck.Run(repeats);
    }

    /// <summary>True when TorchSharp can use a CUDA device.</summary>
    public static bool IsCudaAvailable()
    {
        lock (Gate)
        {
            if (!_cudaChecked)
            {
                ConfigureFromEnvironmentOnce();
                try { _cudaAvailable = torch.cuda.is_available(); }
                catch (Exception e) when (e is NotSupportedException or InvalidOperationException or DllNotFoundException) { _cudaAvailable = false; }
                _cudaChecked = true;
            }
            return _cudaAvailable;
        }
    }

    private static void ConfigureFromEnvironmentOnce()
    {
        lock (Gate)
        {
            if (_loadedFrom is null) ConfigureFromEnvironment();
        }
    }

    private static bool Load(string directory, string name, bool required)
    {
        string file = Path.Combine(directory, name + (OperatingSystem.IsWindows() ? ".dll" : OperatingSystem.IsMacOS() ? ".dylib" : ".so"));
        if (OperatingSystem.IsWindows()) file = Path.Combine(directory, name.StartsWith("lib", StringComparison.Ordinal) ? name[3..] + ".dll" : name + ".dll");
        if (File.Exists(file) && NativeLibrary.TryLoad(file, out _)) return true;
        if (required)
            throw new DllNotFoundException($"Could not load '{file}' from the libtorch folder '{directory}'. Check that the folder is a libtorch lib folder and that its dependencies are on the loader path.");
        return false;
    }
}
