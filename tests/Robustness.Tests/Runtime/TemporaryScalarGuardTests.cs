using FluentAssertions;
using Xunit;

namespace Robustness.Tests.Runtime;

/// <summary>
/// The library never passes libtorch a Scalar that the garbage collector may free during the native call
/// (see <c>Robustness.Runtime.Scalars</c>): the guard compiles the library's sources and lists every such place.
/// </summary>
public sealed class TemporaryScalarGuardTests
{
    [Fact]
    public void The_library_never_converts_a_number_to_a_temporary_Scalar()
    {
        var findings = TemporaryScalarScanner.ScanDirectory(LibrarySources());

        findings.Select(f => f.ToString()).Should().BeEmpty(
            "a temporary Scalar can be finalised while libtorch still reads it; use Scalars.* or 'using var s = value.ToScalar();'");
    }

    [Fact]
    public void The_guard_finds_implicit_conversions_and_tensor_number_operators_and_accepts_held_scalars()
    {
        const string source = """
            using TorchSharp;
            using static TorchSharp.torch;
            static class Sample
            {
                static Tensor Bad(Tensor x, double eps)
                {
                    var a = x.clamp(0f, 1f);
                    var b = x * 0.5;
                    var c = 2 - x;
                    a += 1;
                    return a.masked_fill(x.gt(x), eps) + b + c;
                }
                static Tensor Good(Tensor x, double eps)
                {
                    using Scalar zero = 0f.ToScalar(), one = 1f.ToScalar(), e = eps.ToScalar();
                    return x.clamp(zero, one).mul(e) + x;
                }
            }
            """;

        var findings = TemporaryScalarScanner.Scan([("Sample.cs", source)]);

        findings.Select(f => f.Line).Should().BeEquivalentTo([7, 7, 8, 9, 10, 11]);
        findings.Should().NotContain(f => f.Line >= 13);
    }

    private static string LibrarySources()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Robustness.sln")))
                return Path.Combine(dir.FullName, "src", "Robustness");
        throw new DirectoryNotFoundException("Robustness.sln not found above " + AppContext.BaseDirectory);
    }
}
