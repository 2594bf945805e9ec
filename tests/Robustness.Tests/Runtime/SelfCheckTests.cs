using FluentAssertions;
using Robustness.Runtime;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Robustness.Tests.Runtime;

public class SelfCheckTests
{
    [Fact]
    public void The_kernels_of_a_small_cnn_are_finite_repeatable_and_match_float64_on_this_cpu()
    {
        var report = TorchRuntime.SelfCheck();

        report.Passed.Should().BeTrue($"every probe must pass on {CpuFeatures.Current.Model} " +
            $"({string.Join(' ', CpuFeatures.Current.Extensions)}; guard {report.Guard.State}); failed: {string.Join("; ", report.Failures)}");
        report.Probes.Select(p => p.Operator).Should().Contain(["conv2d 3x3 forward", "conv2d 3x3 backward (input)", "conv2d 3x3 backward (weight)"]);
        report.Probes.Should().Contain(p => p.Shape.Contains("C3->4") && p.Operator.Contains("weight"), "the first layer of a width-4 SmallCnn is probed");
        report.TrainingDigest.Should().MatchRegex("^[0-9a-f]{64}$");
    }

    [Fact]
    public void Channels_last_convolutions_are_probed_exactly_where_crafting_uses_them()
    {
        var report = TorchRuntime.SelfCheck();

        // SEP crafts channels-last on the CPU only under the guard's AVX cap, so that is where the layout is probed;
        // with other kernels these probes could abort the process instead of reporting.
        report.Probes.Any(p => p.Shape.Contains("channels-last")).Should().Be(ChannelsLast.Applies(torch.CPU));
        report.Probes.Any(p => p.Shape.Contains("channels-last")).Should().Be(report.Guard.State == KernelGuardState.Capped);
        // Attacks hand NHWC inputs to NCHW weights (Classifier.ChannelsLastInputs), and both crafting and attacks
        // differentiate through eval-mode batch norm and pooling on NHWC activations: those paths are probed too.
        report.Probes.Any(p => p.Shape.Contains("channels-last input, NCHW weights") && p.Operator.Contains("backward (input)"))
            .Should().Be(ChannelsLast.Applies(torch.CPU));
        report.Probes.Any(p => p.Shape.Contains("channels-last") && p.Operator.Contains("batch norm (evaluation)") && p.Operator.EndsWith("backward"))
            .Should().Be(ChannelsLast.Applies(torch.CPU));
    }

    [Fact]
    public void Batch_norm_is_probed_in_training_and_in_evaluation_mode()
    {
        var report = TorchRuntime.SelfCheck();

        report.Probes.Select(p => p.Operator).Should().Contain(
            ["batch norm (training) + ReLU + max pool 2x2 backward", "batch norm (evaluation) + ReLU + max pool 2x2 backward"]);
        // Both modes in plain NCHW too, on every CPU (channels-last probes exist only under the guard's cap).
        report.Probes.Where(p => !p.Shape.Contains("channels-last")).Select(p => p.Operator).Should().Contain(
            ["batch norm (training) + ReLU + max pool 2x2 backward", "batch norm (evaluation) + ReLU + max pool 2x2 backward"]);
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("", false)]
    [InlineData("on", false)]
    [InlineData("auto", false)]
    [InlineData("off", true)]
    [InlineData(" OFF ", true)]
    public void Only_off_turns_the_channels_last_layout_off(string? value, bool off) =>
        ChannelsLast.IsTurnedOff(value).Should().Be(off);

    [Fact]
    public void The_channels_last_layout_keeps_values_and_shape_and_the_weights_come_back_plain()
    {
        using var scope = NewDisposeScope();
        var images = torch.rand(2, 3, 5, 7);
        var nhwc = ChannelsLast.Of(images);
        nhwc.shape.Should().Equal(images.shape);
        nhwc.is_contiguous().Should().BeFalse("NHWC strides are not NCHW-contiguous");
        nhwc.eq(images).all().item<bool>().Should().BeTrue();

        using var classifier = Classifier.Create(new Robustness.Models.ModelSpec("small-cnn", 10, 4), Normalization.Cifar10, seed: 0);
        var before = classifier.Network.parameters().Select(p => p.detach().clone()).ToList();
        using (ChannelsLast.Weights(classifier))
        {
            classifier.Network.parameters().Where(p => p.dim() == 4).Should().OnlyContain(p => !p.is_contiguous());
            using var logits = classifier.Forward(images);
            logits.isfinite().all().item<bool>().Should().BeTrue();
        }
        var after = classifier.Network.parameters().ToList();
        after.Should().OnlyContain(p => p.is_contiguous());
        for (int i = 0; i < after.Count; i++) after[i].eq(before[i]).all().item<bool>().Should().BeTrue();
    }

    [Fact]
    public void The_same_seed_gives_the_same_training_digest_within_a_process()
    {
        TorchRuntime.SelfCheck().TrainingDigest.Should().Be(TorchRuntime.SelfCheck().TrainingDigest);
    }

    [Fact]
    public void A_probe_fails_on_nan_on_run_to_run_differences_and_on_wrong_values()
    {
        using var scope = NewDisposeScope();
        var reference = torch.linspace(-1, 1, 64, dtype: float64);
        var good = reference.to(float32);
        var nan = good.clone();
        nan[3] = torch.tensor(float.NaN);
        var other = good.clone();
        other[5] = torch.tensor(0.123f);   // a plausible but different value: not repeatable
        var wrong = good.flip(0);          // finite and repeatable, but not the operator's result

        KernelSelfCheck.Compare("op", "s", [good, good.clone()], reference, 1e-4).Passed.Should().BeTrue();
        var withNan = KernelSelfCheck.Compare("op", "s", [good, nan], reference, 1e-4);
        withNan.Finite.Should().BeFalse();
        withNan.Passed.Should().BeFalse();
        var differing = KernelSelfCheck.Compare("op", "s", [good, other], reference, 1e-4);
        differing.Repeatable.Should().BeFalse();
        differing.Passed.Should().BeFalse();
        differing.ToString().Should().Contain("FAILED").And.Contain("repeatable NO");
        var far = KernelSelfCheck.Compare("op", "s", [wrong, wrong.clone()], reference, 1e-4);
        far.Repeatable.Should().BeTrue();
        far.RelativeError.Should().BeGreaterThan(1e-4);
        far.Passed.Should().BeFalse();
    }

    [Fact]
    public void Repeats_below_two_are_refused()
    {
        var act = () => TorchRuntime.SelfCheck(repeats: 1);
        act.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("repeats");
    }
}
