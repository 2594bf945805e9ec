using FluentAssertions;
using TorchSharp;
using Xunit;

namespace Robustness.Tests;

public class TorchSmokeTests
{
    [Fact]
    public void A_TorchSharp_operation_runs()
    {
        using var a = torch.ones(2, 3);
        using var b = a.sum();
        b.item<float>().Should().Be(6f);
    }
}
