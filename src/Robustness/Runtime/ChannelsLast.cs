using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Runtime;

/// <summary>
/// Channels-last (NHWC) strides for CPU convolutions. oneDNN works in blocked or NHWC layouts; on plain NCHW tensors
/// libtorch reorders every convolution's input, output and gradients to and from its blocked layout, and with the
/// kernel guard's AVX cap those reorders and the GEMM-based backward pass cost most of a crafting step (ONEDNN_VERBOSE
/// on ResNet-18 w16: about a third of oneDNN's time in reorders, and its time per step halved with channels-last). With NHWC strides on the weights and the input, the
/// convolutions run channels-last and their outputs keep that layout for the next layer (benchmarks/results/
/// sep-craft-ideas-cpu.md). TorchSharp 0.107 has no memory_format argument, so the layout is made by permuting to
/// NHWC, copying, and permuting back: the same values and shape, NHWC strides.
/// </summary>
internal static class ChannelsLast
{
    /// <summary>
    /// Whether crafting (SEP's weights and iterate) and attacks (<see cref="Classifier.ChannelsLastInputs"/> around every
    /// attack run) on <paramref name="device"/> use the layout: on the CPU, and only where the kernel guard caps
    /// oneDNN at AVX. That is where it was measured and where doctor's self-check probes channels-last convolutions
    /// (<see cref="Probed"/>). Elsewhere NCHW stays: oneDNN's AVX-512 channels-last kernels corrupted the heap on the
    /// Turin-like EPYC with the guard off (the process aborted with "double free or corruption"), and the AVX2-only
    /// CPUs' NHWC kernels were not tried. CUDA keeps NCHW (not measured). <c>ROBUSTNESS_CHANNELS_LAST=off</c> turns it off.
    /// </summary>
    public static bool Applies(Device device) => device.type == DeviceType.CPU && Probed && !TurnedOff;

    private static readonly bool TurnedOff = IsTurnedOff(Environment.GetEnvironmentVariable(KernelGuard.ChannelsLastVariable));

    /// <summary>Whether a value of <see cref="KernelGuard.ChannelsLastVariable"/> turns the layout off ("off", any case).</summary>
    internal static bool IsTurnedOff(string? value) => string.Equals(value?.Trim(), "off", StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether this process's kernels are the ones the channels-last path was checked with (the guard's AVX cap).</summary>
    public static bool Probed => KernelGuard.Status.State == KernelGuardState.Capped;

    /// <summary>A copy of 4-D <paramref name="images"/> with NHWC strides (same shape and values).</summary>
    public static Tensor Of(Tensor images)
    {
        using var nhwc = images.permute(0, 2, 3, 1).contiguous();
        return nhwc.permute(0, 3, 1, 2);
    }

    /// <summary>
    /// Gives the classifier's 4-D weights NHWC strides until disposed, then plain NCHW again (values untouched both
    /// ways). The parameters stay the same objects; their storage is replaced, so a view taken of a weight before
    /// does not follow it.
    /// </summary>
    public static IDisposable Weights(Classifier classifier) => new WeightLayout(classifier);

    private sealed class WeightLayout : IDisposable
    {
        private readonly List<Tensor> _weights;
        private bool _disposed;

        public WeightLayout(Classifier classifier)
        {
            ArgumentNullException.ThrowIfNull(classifier);
            _weights = classifier.Network.parameters().Where(p => p.dim() == 4).Select(p => (Tensor)p).ToList();
            Relayout(Of);
        }

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            Relayout(w => w.contiguous());
        }

        private void Relayout(Func<Tensor, Tensor> layout)
        {
            using var noGrad = no_grad();
            foreach (var weight in _weights)
            {
                using var copy = layout(weight);
                weight.set_(copy); // in place: returns the parameter itself, which must not be disposed
            }
        }
    }
}
