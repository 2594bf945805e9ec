using FluentAssertions;
using Robustness.Runtime;
using Xunit;

namespace Robustness.Tests.Runtime;

public class HeapRetentionTests
{
    private static Dictionary<string, string?> Unset() => HeapRetention.UserVariables.ToDictionary(name => name, _ => (string?)null);

    [Fact]
    public void On_glibc_without_a_users_setting_the_library_keeps_freed_memory()
    {
        var status = HeapRetention.Decide(glibc: true, Unset());

        status.SetHere.Should().BeTrue();
        status.Explanation.Should().Contain("32 MiB").And.Contain("1024 MiB");
    }

    [Theory]
    [InlineData("MALLOC_TRIM_THRESHOLD_", "131072")]
    [InlineData("MALLOC_MMAP_THRESHOLD_", "65536")]
    [InlineData("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=0")]
    public void A_users_malloc_setting_is_kept(string name, string value)
    {
        var variables = Unset();
        variables[name] = value;

        var status = HeapRetention.Decide(glibc: true, variables);

        status.SetHere.Should().BeFalse();
        status.Explanation.Should().Contain($"{name}={value}");
    }

    [Fact]
    public void Tunables_that_are_not_mallocs_do_not_count_as_a_malloc_choice()
    {
        var variables = Unset();
        variables["GLIBC_TUNABLES"] = "glibc.cpu.hwcaps=-AVX512F";

        HeapRetention.Decide(glibc: true, variables).SetHere.Should().BeTrue();
    }

    [Theory]
    [InlineData("off", false)]
    [InlineData(" OFF ", false)]
    [InlineData("on", true)]
    [InlineData(null, true)]
    public void Only_off_keeps_glibcs_defaults(string? value, bool set)
    {
        var status = HeapRetention.Decide(glibc: true, Unset(), value);

        status.SetHere.Should().Be(set);
        if (!set) status.Explanation.Should().Contain(HeapRetention.SwitchVariable);
    }

    [Fact]
    public void Without_glibc_nothing_is_set()
    {
        var status = HeapRetention.Decide(glibc: false, Unset());

        status.SetHere.Should().BeFalse();
        status.Explanation.Should().Contain("glibc");
    }

    [Fact]
    public void This_process_applied_it_from_the_module_initializer_on_linux()
    {
        // Nothing in this test assembly reads the status before this line: only the module initializer can have applied it.
        HeapRetention.IsApplied.Should().BeTrue("the module initializer applies the decision before any tensor exists");
        // The test hosts run Linux with glibc and, on CI, none of these variables: there the library must set the thresholds.
        bool untouched = HeapRetention.UserVariables.Append(HeapRetention.SwitchVariable).All(v => Environment.GetEnvironmentVariable(v) is null);
        if (OperatingSystem.IsLinux() && untouched)
            HeapRetention.Status.SetHere.Should().BeTrue(HeapRetention.Status.Explanation);
        HeapRetention.Status.Should().Be(HeapRetention.DecideForThisProcess(), "mallopt accepted the thresholds, so the status is the decision itself");
    }
}
