using System.Diagnostics;
using System.Text.Json;
using FluentAssertions;
using Robustness.Runtime;
using Xunit;
using Xunit.Abstractions;

namespace Robustness.Cli.Tests;

public sealed class DoctorTests(ITestOutputHelper log)
{
    [Fact]
    public async Task Doctor_reports_the_runtime_and_passes_its_self_check()
    {
        var output = new StringWriter();
        var error = new StringWriter();

        int code = await CliApplication.RunAsync(["doctor"], output, error);

        code.Should().Be(ExitCodes.Success, output.ToString() + error);
        string text = output.ToString();
        text.Should().Contain("libtorch").And.Contain("oneDNN ISA").And.Contain("kernel guard").And.Contain("CUDA");
        text.Should().MatchRegex(@"self-check\s+passed: \d+ probes");
        log.WriteLine(text);
    }

    [Fact]
    public void The_guard_reaches_onednn_in_a_fresh_process_and_its_results_repeat_across_processes()
    {
        var first = Doctor();
        var second = Doctor();

        first.Code.Should().Be(0, first.Text);
        Passed(first.Json).Should().BeTrue(first.Text);
        string isa = first.Json.GetProperty("oneDnnIsa").GetString()!;
        if (CpuFeatures.Current.Avx512F)
        {
            first.Json.GetProperty("guard").GetProperty("state").GetString().Should().Be(nameof(KernelGuardState.Capped));
            isa.Should().MatchRegex(@"Intel AVX\b").And.NotContain("AVX2").And.NotContain("AVX-512", "oneDNN itself must report the cap the guard set");
            // The faster AVX2 cap is tried in a child of the child: a verdict either way, never "not checked".
            var faster = first.Json.GetProperty("fasterCap");
            faster.GetProperty("isa").GetString().Should().Be("AVX2");
            faster.GetProperty("passed").ValueKind.Should().BeOneOf(JsonValueKind.True, JsonValueKind.False);
            if (faster.GetProperty("passed").ValueKind == JsonValueKind.False) faster.GetProperty("failures").GetArrayLength().Should().BePositive();
            log.WriteLine($"AVX2 cap on {CpuFeatures.Current.Model}: {faster}");
        }
        else
        {
            first.Json.GetProperty("guard").GetProperty("state").GetString().Should().Be(nameof(KernelGuardState.NotNeeded));
            first.Json.GetProperty("fasterCap").ValueKind.Should().Be(JsonValueKind.Null, "without AVX-512 there is no cap to relax");
        }
        Digest(second.Json).Should().Be(Digest(first.Json), "the same seeded steps give the same bytes in every process on one CPU");
    }

    [Fact]
    public void With_the_guard_forced_off_an_affected_cpu_fails_the_self_check_that_the_guard_passes()
    {
        if (!CpuFeatures.Current.Avx512F)
        {
            log.WriteLine($"{CpuFeatures.Current.Model} has no AVX-512: oneDNN cannot reach the affected kernels, nothing to force off.");
            return;
        }
        var off = Doctor((KernelGuard.GuardVariable, "off"));
        var on = Doctor();

        off.Json.GetProperty("guard").GetProperty("state").GetString().Should().Be(nameof(KernelGuardState.TurnedOff));
        off.Json.GetProperty("oneDnnIsa").GetString().Should().Contain("AVX-512", "with the guard off oneDNN runs its AVX-512 kernels");
        Passed(on.Json).Should().BeTrue(on.Text);
        on.Code.Should().Be(0);
        if (Passed(off.Json))
        {
            off.Code.Should().Be(0);
            log.WriteLine($"{CpuFeatures.Current.Model}: oneDNN's AVX-512 kernels passed the self-check here too (not an affected CPU).");
        }
        else
        {
            off.Code.Should().Be(1, "doctor exits 1 when the self-check fails");
            log.WriteLine($"{CpuFeatures.Current.Model} is affected; without the guard:\n{off.Text}");
        }
    }

    [Fact]
    public void Doctor_reports_the_openmp_spin_limit_heap_retention_and_huge_pages_the_library_set_and_keeps_a_users_own()
    {
        var library = Doctor();
        var user = Doctor((OpenMpWaiting.SpinCountVariable, "5000"), ("MALLOC_TRIM_THRESHOLD_", "131072"), (HugePages.Variable, "0"));

        var set = library.Json.GetProperty("openMpWaiting");
        set.GetProperty("spinCount").GetString().Should().Be(OpenMpWaiting.LibrarySpinCount, library.Text);
        set.GetProperty("setHere").GetBoolean().Should().BeTrue();
        var kept = user.Json.GetProperty("openMpWaiting");
        kept.GetProperty("spinCount").GetString().Should().Be("5000", user.Text);
        kept.GetProperty("setHere").GetBoolean().Should().BeFalse();

        // The test machines run Linux with glibc, where the library sets glibc's thresholds unless the user chose.
        library.Json.GetProperty("heapRetention").GetProperty("setHere").GetBoolean().Should().Be(OperatingSystem.IsLinux(), library.Text);
        var userHeap = user.Json.GetProperty("heapRetention");
        userHeap.GetProperty("setHere").GetBoolean().Should().BeFalse(user.Text);
        userHeap.GetProperty("explanation").GetString().Should().Contain("MALLOC_TRIM_THRESHOLD_=131072");

        // Huge pages: set exactly when the kernel's transparent huge pages are always or madvise (the test machines: madvise).
        string? kernel = File.Exists(HugePages.SystemSetting) ? File.ReadAllText(HugePages.SystemSetting) : null;
        var hugePages = library.Json.GetProperty("hugePages");
        hugePages.GetProperty("setHere").GetBoolean().Should().Be(HugePages.Mode(kernel) is "always" or "madvise", library.Text);
        var userPages = user.Json.GetProperty("hugePages");
        userPages.GetProperty("setHere").GetBoolean().Should().BeFalse(user.Text);
        userPages.GetProperty("explanation").GetString().Should().Contain("THP_MEM_ALLOC_ENABLE=0 was set");
    }

    [Fact]
    public void A_probe_whose_error_is_not_finite_is_still_written_as_json()
    {
        var probe = new KernelProbeResult("conv2d 3x3 backward (input)", "N128 C4->4 32x32", Finite: false, Repeatable: false, double.NaN, 1e-4);

        string json = System.Text.Json.JsonSerializer.Serialize(probe, Robustness.Cli.Commands.DoctorCommand.JsonOptions);

        using var parsed = JsonDocument.Parse(json);
        parsed.RootElement.GetProperty("relativeError").GetString().Should().Be("NaN");
    }

    private static bool Passed(JsonElement report) =>
        report.GetProperty("selfCheck").GetProperty("probes").EnumerateArray().All(p => p.GetProperty("passed").GetBoolean());

    private static string Digest(JsonElement report) => report.GetProperty("selfCheck").GetProperty("trainingDigest").GetString()!;

    // 'robustness doctor --json' in a child process whose environment has only the given guard variables added.
    private static (int Code, JsonElement Json, string Text) Doctor(params (string Name, string Value)[] environment)
    {
        string cli = Path.Combine(AppContext.BaseDirectory, "Robustness.Cli.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in (string[])[cli, "doctor", "--json"]) start.ArgumentList.Add(a);
        foreach (string name in (string[])[KernelGuard.GuardVariable, KernelGuard.IsaVariable, KernelGuard.LegacyIsaVariable, OpenMpWaiting.SpinCountVariable, OpenMpWaiting.WaitPolicyVariable, .. HeapRetention.UserVariables, HeapRetention.SwitchVariable, HugePages.Variable, HugePages.SwitchVariable])
            start.Environment.Remove(name);
        foreach (var (name, value) in environment) start.Environment[name] = value;
        using var child = Process.Start(start)!;
        var stderr = child.StandardError.ReadToEndAsync();
        string stdout = child.StandardOutput.ReadToEnd();
        child.WaitForExit(TimeSpan.FromMinutes(2)).Should().BeTrue("doctor takes seconds");
        string text = stdout + stderr.Result;
        using var document = JsonDocument.Parse(stdout);
        return (child.ExitCode, document.RootElement.Clone(), text);
    }
}
