using FluentAssertions;
using Robustness.Runtime;
using Xunit;

namespace Robustness.Tests.Runtime;

public class KernelGuardTests
{
    private static readonly CpuFeatures Avx512 = new() { Model = "test", Avx512F = true, Extensions = ["avx2", "fma", "avx512f"] };
    private static readonly CpuFeatures Avx2Only = new() { Model = "test", Extensions = ["avx2", "fma"] };

    [Theory]
    [InlineData(true, null, null, null, KernelGuardState.Capped, "AVX")]
    [InlineData(true, "on", null, null, KernelGuardState.Capped, "AVX")]
    [InlineData(true, "sometimes", null, null, KernelGuardState.Capped, "AVX")]      // unknown value: the guard stays on
    [InlineData(true, "off", null, null, KernelGuardState.TurnedOff, null)]
    [InlineData(true, "OFF", null, null, KernelGuardState.TurnedOff, null)]
    [InlineData(true, null, "AVX512_CORE", null, KernelGuardState.UserSetting, "AVX512_CORE")]
    [InlineData(true, "off", null, "SSE41", KernelGuardState.UserSetting, "SSE41")]
    [InlineData(false, null, null, null, KernelGuardState.NotNeeded, null)]
    [InlineData(false, "off", null, null, KernelGuardState.NotNeeded, null)]
    [InlineData(false, null, "AVX2", null, KernelGuardState.UserSetting, "AVX2")]
    public void The_guard_caps_onednn_only_on_avx512_cpus_and_never_overrides_the_user(
        bool avx512, string? guard, string? isa, string? legacyIsa, KernelGuardState expected, string? cap)
    {
        var status = KernelGuard.Decide(avx512 ? Avx512 : Avx2Only, guard, isa, legacyIsa);

        status.State.Should().Be(expected);
        status.MaxCpuIsa.Should().Be(cap);
        status.Active.Should().Be(expected == KernelGuardState.Capped);
        status.Explanation.Should().NotBeNullOrWhiteSpace();
    }

    [Fact]
    public void An_unknown_guard_value_is_named_in_the_explanation()
    {
        KernelGuard.Decide(Avx512, "sometimes", null, null).Explanation.Should().Contain("'sometimes'").And.Contain("on, off");
    }

    [Fact]
    public void In_this_process_the_cap_is_in_the_native_environment_that_onednn_reads()
    {
        var status = KernelGuard.Status;
        string? native = NativeEnvironment.Get(KernelGuard.IsaVariable);

        switch (status.State)
        {
            case KernelGuardState.UserSetting:          // the suite was started with a cap of its own
                native.Should().Be(status.MaxCpuIsa);
                break;
            case KernelGuardState.TurnedOff:            // the suite was started with ROBUSTNESS_ONEDNN_GUARD=off
                Environment.GetEnvironmentVariable(KernelGuard.GuardVariable).Should().BeEquivalentTo("off");
                native.Should().BeNull();
                break;
            default:                                    // started without the variables: the CPU decides
                status.State.Should().Be(CpuFeatures.Current.Avx512F ? KernelGuardState.Capped : KernelGuardState.NotNeeded);
                native.Should().Be(status.Active ? KernelGuard.CappedIsa : null);
                break;
        }
    }

    [Fact]
    public void Cpu_features_agree_with_dotnets_own_detection()
    {
        var cpu = CpuFeatures.Current;
        cpu.Model.Should().NotBeNullOrWhiteSpace();
        // .NET reports AVX2 only when the OS saves the registers too; where it does, CPUID must agree.
        if (System.Runtime.Intrinsics.X86.Avx2.IsSupported) cpu.Extensions.Should().Contain("avx2");
        if (System.Runtime.Intrinsics.X86.Avx512F.IsSupported) cpu.Avx512F.Should().BeTrue();
        cpu.Avx512F.Should().Be(cpu.Extensions.Contains("avx512f"));
    }
}
