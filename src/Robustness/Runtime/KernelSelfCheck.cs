using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Robustness.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Runtime;

/// <summary>One operator probed by <see cref="TorchRuntime.SelfCheck"/>.</summary>
/// <param name="Operator">What ran (e.g. "conv2d 3x3 backward (weight)").</param>
/// <param name="Shape">The problem size (e.g. "N128 C4->8 16x16").</param>
/// <param name="Finite">Every value of every run was finite.</param>
/// <param name="Repeatable">Every run gave the first run's bytes.</param>
/// <param name="RelativeError">Largest |float32 - float64 reference| over the reference's largest |value| (NaN when not finite).</param>
/// <param name="Tolerance">The largest relative error that passes.</param>
public sealed record KernelProbeResult(string Operator, string Shape, bool Finite, bool Repeatable, double RelativeError, double Tolerance)
{
    /// <summary>Finite, repeatable and close to the float64 reference.</summary>
    public bool Passed => Finite && Repeatable && RelativeError <= Tolerance;

    /// <summary>One line: the probe and what went wrong, if anything.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Operator} {Shape}: {(Passed ? "ok" : "FAILED")} (finite {Yes(Finite)}, repeatable {Yes(Repeatable)}, relative error {RelativeError:G3} of {Tolerance:G1} allowed)");

    private static string Yes(bool value) => value ? "yes" : "NO";
}

/// <summary>The result of <see cref="TorchRuntime.SelfCheck"/>.</summary>
/// <param name="Probes">Every operator probed, in order: convolutions, batch norm, pooling, then a whole training step.</param>
/// <param name="TrainingDigest">SHA-256 of the weights after the self-check's training steps: the same on every run on one CPU and thread count.</param>
/// <param name="Threads">libtorch's intra-op threads during the check.</param>
/// <param name="Guard">The kernel guard's decision for this process.</param>
/// <param name="Elapsed">Wall time of the check.</param>
public sealed record RuntimeSelfCheckReport(IReadOnlyList<KernelProbeResult> Probes, string TrainingDigest, int Threads, KernelGuardStatus Guard, TimeSpan Elapsed)
{
    /// <summary>Every probe passed.</summary>
    public bool Passed => Probes.All(p => p.Passed);

    /// <summary>The probes that failed, smallest problem first within each operator.</summary>
    public IReadOnlyList<KernelProbeResult> Failures => Probes.Where(p => !p.Passed).ToList();
}

/// <summary>
/// Runs the operators that a small CNN uses (3x3 convolution forward and both backward passes at the channel counts
/// that oneDNN serves with padded 8- or 16-channel blocks, in NCHW, in channels-last and with channels-last input on
/// NCHW weights; batch norm in training and evaluation mode with ReLU and max pooling, in NCHW and channels-last) and a few SGD steps of a width-4
/// SmallCnn, each <c>repeats</c> times from the same inputs, and compares every run with the first (bytes) and with a
/// float64 reference computed by ATen's own kernels (oneDNN has no float64 convolution). This is the failure of issue
/// 11 in miniature: on an affected AVX-512 CPU without the guard it shows NaN or run-to-run differences.
/// </summary>
internal static class KernelSelfCheck
{
    private const int Batch = 128;
    private const double ConvTolerance = 1e-4;
    private const double TrainingTolerance = 1e-3;

    // (input channels, output channels, side, kernel, stride): the first layers of small-cnn at widths 4 and 8, then full
    // 16-blocks; then a ResNet's down-sampling pair (3x3 stride 2 and the 1x1 stride-2 shortcut) at 2 channels (a
    // width-8 ResNet sliced to a quarter, as All-in-One's ratios do) and at 8 -> 16.
    private static readonly (int In, int Out, int Side, int Kernel, int Stride)[] ConvShapes =
        [(3, 4, 32, 3, 1), (4, 4, 32, 3, 1), (4, 8, 16, 3, 1), (8, 8, 16, 3, 1), (8, 16, 8, 3, 1), (3, 16, 32, 3, 1), (16, 16, 8, 3, 1),
         (2, 2, 16, 3, 1), (2, 4, 16, 3, 2), (2, 4, 16, 1, 2), (8, 16, 16, 3, 2), (8, 16, 16, 1, 2)];

    // The same problems with channels-last (NHWC) input and weights, the layout SEP crafts in on the CPU (ChannelsLast),
    // and with NHWC input on NCHW weights, the layout attacks run in: oneDNN serves each with other kernels than NCHW.
    private static readonly (int In, int Out, int Side, int Kernel, int Stride)[] ChannelsLastShapes =
        [(3, 4, 32, 3, 1), (4, 4, 32, 3, 1), (3, 16, 32, 3, 1), (16, 16, 8, 3, 1), (2, 4, 16, 3, 2), (8, 16, 16, 3, 2), (8, 16, 16, 1, 2)];

    public static RuntimeSelfCheckReport Run(int repeats)
    {
        if (repeats < 2) throw new ArgumentOutOfRangeException(nameof(repeats), repeats, "repeats must be >= 2 (a run is compared with the first).");
        var guard = KernelGuard.Status;
        var watch = Stopwatch.StartNew();
        var probes = new List<KernelProbeResult>();
        using (torch.no_grad())
        using (var generator = new Generator(11))
        {
            foreach (var (cin, cout, side, kernel, stride) in ConvShapes) probes.AddRange(ProbeConvolution(cin, cout, side, kernel, stride, repeats, generator, Layout.Plain));
            // Only where the library crafts channels-last: with other kernels these probes can abort the process (see ChannelsLast).
            if (ChannelsLast.Probed)
            {
                foreach (var layout in (Layout[])[Layout.ChannelsLast, Layout.ChannelsLastInput])
                    foreach (var (cin, cout, side, kernel, stride) in ChannelsLastShapes)
                        probes.AddRange(ProbeConvolution(cin, cout, side, kernel, stride, repeats, generator, layout));
            }
            foreach (int channels in (int[])[4, 8])
            {
                probes.AddRange(ProbeBatchNormAndPooling(channels, repeats, generator, training: true, channelsLast: false));
                probes.AddRange(ProbeBatchNormAndPooling(channels, repeats, generator, training: false, channelsLast: false));
                if (ChannelsLast.Probed) probes.AddRange(ProbeBatchNormAndPooling(channels, repeats, generator, training: false, channelsLast: true));
            }
        }
        var (training, digest) = ProbeTraining(repeats);
        probes.Add(training);
        return new RuntimeSelfCheckReport(probes, digest, torch.get_num_threads(), guard, watch.Elapsed);
    }

    /// <summary>
    /// The layouts the library hands oneDNN: plain NCHW (training, evaluation); NHWC input and weights (SEP's crafting,
    /// <see cref="ChannelsLast.Weights"/>); NHWC input with NCHW weights (attacks under
    /// <see cref="Classifier.ChannelsLastInputs"/>, which leave the weights alone). oneDNN picks other kernels and
    /// reorders for each, so each is probed on its own.
    /// </summary>
    private enum Layout { Plain, ChannelsLast, ChannelsLastInput }

    private static IEnumerable<KernelProbeResult> ProbeConvolution(int cin, int cout, int side, int kernel, int stride, int repeats, Generator generator,
        Layout layout)
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn([Batch, cin, side, side], generator: generator);
        using var scale = (1.0 / Math.Sqrt(kernel * kernel * cin)).ToScalar();
        var w = torch.randn([cout, cin, kernel, kernel], generator: generator).mul_(scale);
        int outSide = (side + 2 * (kernel / 2) - kernel) / stride + 1;
        var gy = torch.randn([Batch, cout, outSide, outSide], generator: generator);
        var reference = Convolution(x.to(float64), w.to(float64), gy.to(float64), stride);
        var runs = Enumerable.Range(0, repeats)
            .Select(_ => layout switch
            {
                Layout.ChannelsLast => Convolution(ChannelsLast.Of(x), ChannelsLast.Of(w), ChannelsLast.Of(gy), stride),
                Layout.ChannelsLastInput => Convolution(ChannelsLast.Of(x), w, ChannelsLast.Of(gy), stride),
                _ => Convolution(x, w, gy, stride),
            }).Select(r => r.Select(t => t.contiguous()).ToArray()).ToList(); // bytes in NCHW order
        string suffix = layout switch
        {
            Layout.ChannelsLast => " channels-last",
            Layout.ChannelsLastInput => " channels-last input, NCHW weights",
            _ => "",
        };
        string shape = string.Create(CultureInfo.InvariantCulture, $"N{Batch} C{cin}->{cout} {side}x{side}{suffix}");
        string op = string.Create(CultureInfo.InvariantCulture, $"conv2d {kernel}x{kernel}{(stride == 1 ? "" : $" stride {stride}")}");
        string[] names = [$"{op} forward", $"{op} backward (input)", $"{op} backward (weight)"];
        var results = new List<KernelProbeResult>();
        for (int i = 0; i < names.Length; i++)
            results.Add(Compare(names[i], shape, runs.Select(r => r[i]).ToList(), reference[i], ConvTolerance));
        return results;
    }

    private static Tensor[] Convolution(Tensor x, Tensor w, Tensor gy, int stride)
    {
        using var enabled = torch.enable_grad();
        var input = x.detach().requires_grad_();
        var weight = w.detach().requires_grad_();
        long pad = w.shape[^1] / 2;
        var y = torch.nn.functional.conv2d(input, weight, strides: [stride, stride], padding: [pad, pad]);
        var grads = torch.autograd.grad([y], [input, weight], [gy]);
        return [y.detach(), grads[0], grads[1]];
    }

    /// <summary>
    /// Batch norm, ReLU and 2x2 max pooling, forward and backward: in training mode (the Trainer) and in evaluation
    /// mode with running statistics (every attack and SEP's crafting differentiate through an eval-mode network), and
    /// the evaluation mode again on NHWC activations, which is what crafting and attacks feed these layers where the
    /// layout applies.
    /// </summary>
    private static IEnumerable<KernelProbeResult> ProbeBatchNormAndPooling(int channels, int repeats, Generator generator, bool training, bool channelsLast)
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn([Batch, channels, 16, 16], generator: generator);
        var gy = torch.randn([Batch, channels, 8, 8], generator: generator);
        // Running statistics away from 0 and 1, so that evaluation mode really scales and shifts.
        var mean = torch.randn([channels], generator: generator).mul_(Scalars.Half);
        var variance = torch.rand([channels], generator: generator).add_(Scalars.Half);
        var reference = NormPool(x.to(float64), gy.to(float64), mean.to(float64), variance.to(float64), training);
        var runs = Enumerable.Range(0, repeats)
            .Select(_ => channelsLast ? NormPool(ChannelsLast.Of(x), ChannelsLast.Of(gy), mean, variance, training) : NormPool(x, gy, mean, variance, training))
            .Select(r => r.Select(t => t.contiguous()).ToArray()).ToList(); // bytes in NCHW order
        string shape = string.Create(CultureInfo.InvariantCulture, $"N{Batch} C{channels} 16x16{(channelsLast ? " channels-last" : "")}");
        string op = training ? "batch norm (training) + ReLU + max pool 2x2" : "batch norm (evaluation) + ReLU + max pool 2x2";
        return
        [
            Compare($"{op} forward", shape, runs.Select(r => r[0]).ToList(), reference[0], ConvTolerance),
            Compare($"{op} backward", shape, runs.Select(r => r[1]).ToList(), reference[1], ConvTolerance),
        ];
    }

    private static Tensor[] NormPool(Tensor x, Tensor gy, Tensor runningMean, Tensor runningVariance, bool training)
    {
        using var enabled = torch.enable_grad();
        var input = x.detach().requires_grad_();
        // Training mode updates the running statistics in place: hand it copies, so every run starts from the same.
        var mean = runningMean.clone();
        var variance = runningVariance.clone();
        var normalised = torch.nn.functional.batch_norm(input, mean, variance, training: training);
        var y = torch.nn.functional.max_pool2d(torch.nn.functional.relu(normalised), 2);
        var grads = torch.autograd.grad([y], [input], [gy]);
        return [y.detach(), grads[0]];
    }

    /// <summary>Three SGD steps of a width-4 SmallCnn in training mode, from the same seed each run.</summary>
    private static (KernelProbeResult Result, string Digest) ProbeTraining(int repeats)
    {
        using var scope = torch.NewDisposeScope();
        Tensor images, labels;
        using (var generator = new Generator(12))
        {
            images = torch.rand([Batch, 3, 32, 32], generator: generator);
            labels = torch.randint(10, [Batch], generator: generator);
        }
        var reference = TrainSteps(images, labels, float64);
        var runs = Enumerable.Range(0, repeats).Select(_ => TrainSteps(images, labels, float32)).ToList();
        var result = Compare("SmallCnn w4 training (3 SGD steps, batch norm in training mode)", string.Create(CultureInfo.InvariantCulture, $"N{Batch} 3x32x32"),
            runs, reference, TrainingTolerance);
        var bytes = runs[0].to(float32).contiguous().bytes.ToArray();
        return (result, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    private static Tensor TrainSteps(Tensor images, Tensor labels, ScalarType dtype)
    {
        using var enabled = torch.enable_grad();
        using var network = new SmallCnn(classes: 10, width: 4);
        using (var generator = new Generator(13)) network.ResetParameters(generator);
        network.to(dtype);
        network.train();
        using var optimizer = torch.optim.SGD(network.parameters(), 0.05, momentum: 0.9);
        var x = images.to(dtype);
        for (int step = 0; step < 3; step++)
        {
            optimizer.zero_grad();
            torch.nn.functional.cross_entropy(network.call(x), labels).backward();
            optimizer.step();
        }
        // Parameters and running statistics, flattened in registration order.
        return torch.cat(network.state_dict().Values.Where(t => t.is_floating_point()).Select(t => t.detach().flatten()).ToList(), 0);
    }

    /// <summary>Judges the runs of one probe against each other and against the float64 reference.</summary>
    internal static KernelProbeResult Compare(string name, string shape, IReadOnlyList<Tensor> runs, Tensor reference, double tolerance)
    {
        bool finite = runs.All(r => r.isfinite().all().item<bool>());
        bool repeatable = runs.Skip(1).All(r => Identical(r, runs[0]));
        double error = double.NaN;
        if (finite)
        {
            double magnitude = reference.abs().max().item<double>();
            error = (runs[0].to(float64) - reference).abs().max().item<double>() / Math.Max(magnitude, double.Epsilon);
        }
        return new KernelProbeResult(name, shape, finite, repeatable, error, tolerance);
    }

    // Byte comparison: NaN == NaN here, and -0 != +0, as for files on disk.
    private static bool Identical(Tensor a, Tensor b) => a.bytes.SequenceEqual(b.bytes);
}
