namespace Robustness.Runtime;

/// <summary>What the correctness guard did to oneDNN's kernel choice in this process (see <see cref="KernelGuard"/>).</summary>
public enum KernelGuardState
{
    /// <summary>The CPU has AVX-512 and the guard capped oneDNN at AVX (<see cref="KernelGuard.CappedIsa"/>).</summary>
    Capped,

    /// <summary>The user set <c>ONEDNN_MAX_CPU_ISA</c> (or <c>DNNL_MAX_CPU_ISA</c>) before the process started; it is left as it is.</summary>
    UserSetting,

    /// <summary><c>ROBUSTNESS_ONEDNN_GUARD=off</c>: oneDNN picks its kernels as shipped, AVX-512 included.</summary>
    TurnedOff,

    /// <summary>The CPU has no AVX-512, so oneDNN cannot reach the affected kernels.</summary>
    NotNeeded,

    /// <summary>The CPU has AVX-512 but the cap could not be set here (no C library to call); set it before start-up.</summary>
    Unavailable,
}

/// <summary>The guard's decision for this process.</summary>
/// <param name="State">What was done.</param>
/// <param name="MaxCpuIsa">The value of <c>ONEDNN_MAX_CPU_ISA</c> oneDNN reads, or null when none is set.</param>
/// <param name="Explanation">One sentence for people (printed by <c>robustness doctor</c>).</param>
public sealed record KernelGuardStatus(KernelGuardState State, string? MaxCpuIsa, string Explanation)
{
    /// <summary>True when the guard itself capped oneDNN in this process.</summary>
    public bool Active => State == KernelGuardState.Capped;
}

/// <summary>
/// Keeps libtorch 2.10's oneDNN off its direct (jit) convolution kernels for AVX-512 and AVX2 on AVX-512 CPUs. On some
/// of them those kernels give wrong gradients, NaN and run-to-run differences for layers whose channel counts are not
/// multiples of the kernel's block (16 for AVX-512, 8 for AVX2). Issue 11 saw it with AVX-512 and capped oneDNN at AVX2;
/// on an AMD "Turin-like" EPYC (2026-12-07) the AVX2 backward-data kernel was wrong too (relative error 0.7 at 4 output
/// channels, and 1 of 3 seeded SEP runs had NaN gradients), while the AVX cap (direct AVX forward, GEMM-based backward)
/// passed the self-check and gave the same bytes every run. So the cap is AVX. oneDNN reads its ISA cap once, from the
/// native environment, when it creates its first primitive (the first convolution or matrix product), so the cap is
/// set here, from the library's module initializer, before any of the library's code can reach libtorch. The measured
/// cost and the reasoning are in README's "Platform notes".
/// </summary>
public static class KernelGuard
{
    /// <summary>Set to <c>off</c> to let oneDNN use AVX-512 (at your own risk on affected CPUs); <c>on</c> is the default.</summary>
    public const string GuardVariable = "ROBUSTNESS_ONEDNN_GUARD";

    /// <summary>oneDNN's cap on the instruction set its kernels may use.</summary>
    public const string IsaVariable = "ONEDNN_MAX_CPU_ISA";

    /// <summary>
    /// "off" keeps every convolution in plain NCHW where the library would otherwise craft or attack channels-last
    /// under this guard's cap (for a model whose layers turn out slower in NHWC, or to compare); read once per process.
    /// </summary>
    public const string ChannelsLastVariable = "ROBUSTNESS_CHANNELS_LAST";

    /// <summary>The older spelling oneDNN still reads.</summary>
    public const string LegacyIsaVariable = "DNNL_MAX_CPU_ISA";

    /// <summary>
    /// The cap the guard sets: the highest one that was correct on every CPU tried. Where <c>robustness doctor</c> passes
    /// with <c>ONEDNN_MAX_CPU_ISA=AVX2</c>, setting that yourself gives the faster AVX2 kernels (a user cap is kept).
    /// </summary>
    public const string CappedIsa = "AVX";

    private static readonly Lazy<KernelGuardStatus> Applied = new(Apply);

    /// <summary>The guard's decision for this process (applied at the latest on first use of this library).</summary>
    public static KernelGuardStatus Status => Applied.Value;

    /// <summary>
    /// What the guard does for <paramref name="cpu"/> given the values of <see cref="GuardVariable"/>,
    /// <see cref="IsaVariable"/> and <see cref="LegacyIsaVariable"/> (null when unset). Pure: sets nothing.
    /// </summary>
    public static KernelGuardStatus Decide(CpuFeatures cpu, string? guardSetting, string? userIsa, string? legacyUserIsa)
    {
        ArgumentNullException.ThrowIfNull(cpu);
        string? user = userIsa ?? legacyUserIsa;
        if (user is not null)
            return new KernelGuardStatus(KernelGuardState.UserSetting, user,
                $"{(userIsa is not null ? IsaVariable : LegacyIsaVariable)}={user} was set before start-up and is left as it is.");
        string setting = (guardSetting ?? "on").Trim().ToLowerInvariant();
        bool off = setting is "off" or "0" or "false" or "no";
        string note = setting is "" or "on" or "1" or "true" or "yes" || off
            ? ""
            : $" ({GuardVariable}='{guardSetting}' is not one of on, off: the guard stays on.)";
        if (!cpu.Avx512F)
            return new KernelGuardStatus(KernelGuardState.NotNeeded, null, "The CPU has no AVX-512; oneDNN runs its AVX2 (or older) kernels as shipped." + note);
        if (off)
            return new KernelGuardStatus(KernelGuardState.TurnedOff, null,
                $"{GuardVariable}=off: oneDNN may use its AVX-512 and AVX2 kernels, which give wrong gradients, NaN and run-to-run differences on some CPUs for channel counts that are not multiples of 16.");
        return new KernelGuardStatus(KernelGuardState.Capped, CappedIsa,
            $"The CPU has AVX-512; oneDNN is capped at {CappedIsa} ({IsaVariable}={CappedIsa}) because its AVX-512 and AVX2 convolution kernels give wrong gradients, NaN and run-to-run differences on some of these CPUs." + note);
    }

    // Runs from the module initializer: it must not throw, or no type of the library could be used at all.
    private static KernelGuardStatus Apply()
    {
        var cpu = CpuFeatures.Current;
        try
        {
            var status = Decide(cpu, Environment.GetEnvironmentVariable(GuardVariable),
                NativeEnvironment.Get(IsaVariable), NativeEnvironment.Get(LegacyIsaVariable));
            if (status.State == KernelGuardState.Capped) NativeEnvironment.SetIfUnset(IsaVariable, CappedIsa);
            return status;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or InvalidOperationException)
        {
            return cpu.Avx512F
                ? new KernelGuardStatus(KernelGuardState.Unavailable, null,
                    $"The CPU has AVX-512 but the oneDNN cap could not be set in this process ({e.Message}); start it with {IsaVariable}={CappedIsa}.")
                : Decide(cpu, null, null, null);
        }
    }
}
