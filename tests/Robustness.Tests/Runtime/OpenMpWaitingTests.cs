using FluentAssertions;
using Robustness.Runtime;
using Xunit;

namespace Robustness.Tests.Runtime;

public class OpenMpWaitingTests
{
    [Fact]
    public void Without_a_users_setting_the_library_bounds_the_spin()
    {
        var status = OpenMpWaiting.Decide(null, null);

        status.SetHere.Should().BeTrue();
        status.SpinCount.Should().Be(OpenMpWaiting.LibrarySpinCount);
        status.Explanation.Should().Contain(OpenMpWaiting.SpinCountVariable);
    }

    [Theory]
    [InlineData("300000", null)]
    [InlineData("INFINITY", "PASSIVE")]
    [InlineData(null, "ACTIVE")]
    public void A_users_spin_count_or_wait_policy_is_kept(string? spinCount, string? waitPolicy)
    {
        var status = OpenMpWaiting.Decide(spinCount, waitPolicy);

        status.SetHere.Should().BeFalse();
        status.SpinCount.Should().Be(spinCount, "a wait policy alone leaves the spin limit to libgomp");
        status.Explanation.Should().Contain(spinCount ?? waitPolicy);
    }
}
