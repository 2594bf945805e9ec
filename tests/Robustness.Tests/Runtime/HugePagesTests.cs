using FluentAssertions;
using Robustness.Runtime;
using TorchSharp;
using Xunit;

namespace Robustness.Tests.Runtime;

public class HugePagesTests
{
    [Theory]
    [InlineData("always [madvise] never", true)]
    [InlineData("[always] madvise never", true)]
    [InlineData("always madvise [never]", false)]
    [InlineData(null, false)]
    public void The_library_asks_for_huge_pages_where_the_kernel_gives_them(string? system, bool set)
    {
        var status = HugePages.Decide(system, userValue: null);

        status.SetHere.Should().Be(set);
        if (set) status.Explanation.Should().Contain("THP_MEM_ALLOC_ENABLE=1").And.Contain(HugePages.Mode(system));
    }

    [Fact]
    public void A_users_setting_and_the_switch_are_kept()
    {
        var user = HugePages.Decide("always [madvise] never", userValue: "0");
        user.SetHere.Should().BeFalse();
        user.Explanation.Should().Contain("THP_MEM_ALLOC_ENABLE=0");

        var off = HugePages.Decide("always [madvise] never", userValue: null, switchValue: " Off ");
        off.SetHere.Should().BeFalse();
        off.Explanation.Should().Contain(HugePages.SwitchVariable);
    }

    [Fact]
    public void The_mode_is_the_bracketed_word()
    {
        HugePages.Mode("always [madvise] never\n").Should().Be("madvise");
        HugePages.Mode("always madvise never").Should().BeNull();
        HugePages.Mode(null).Should().BeNull();
    }

    [Fact]
    public void This_process_applied_it_before_libtorchs_first_allocation_and_large_tensors_get_huge_pages()
    {
        HugePages.IsApplied.Should().BeTrue("the module initializer applies the decision before any tensor exists");
        // .NET's copy of the environment is the one the process started with (the library's setenv reaches only the C library's).
        string? kernel = File.Exists(HugePages.SystemSetting) ? File.ReadAllText(HugePages.SystemSetting) : null;
        if (Environment.GetEnvironmentVariable(HugePages.Variable) is null && Environment.GetEnvironmentVariable(HugePages.SwitchVariable) is null)
            HugePages.Status.Should().Be(HugePages.Decide(OperatingSystem.IsLinux() ? kernel : null, null), "nothing was set before start-up");
        if (!HugePages.Status.SetHere) return; // a kernel without transparent huge pages, or a user's choice: nothing to see
        NativeEnvironment.Get(HugePages.Variable).Should().Be("1");

        // libtorch read the variable at its first allocation: a 128 MB tensor written once is backed by huge pages.
        long before = AnonHugePages();
        using (var big = torch.ones(32L << 20))
        {
            long grown = AnonHugePages() - before;
            grown.Should().BeGreaterThan(64L << 20, "at least half of a 128 MB tensor on 2 MiB pages (the kernel's mode is madvise or always)");
        }
    }

    // The process's anonymous memory on transparent huge pages, in bytes (Linux: /proc/self/smaps_rollup).
    private static long AnonHugePages()
    {
        var line = File.ReadLines("/proc/self/smaps_rollup").First(l => l.StartsWith("AnonHugePages:", StringComparison.Ordinal));
        return 1024 * long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
    }
}
