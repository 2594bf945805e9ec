using FluentAssertions;
using Robustness.Hosting;
using Xunit;

namespace Robustness.Tests.Hosting;

/// <summary>Module discovery reads the marker attribute from metadata and skips everything else in the folder.</summary>
public sealed class ModuleDiscoveryTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("robustness-discovery-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_folder_without_module_packages_installs_nothing()
    {
        File.WriteAllText(Path.Combine(_dir, "Robustness.NotAnAssembly.dll"), "not a PE file");
        File.Copy(typeof(ModuleDiscovery).Assembly.Location, Path.Combine(_dir, "Robustness.Copy.dll"));
        File.Copy(typeof(ModuleDiscoveryTests).Assembly.Location, Path.Combine(_dir, "Robustness.Tests.dll"));

        ModuleDiscovery.Find(_dir).Should().BeEmpty("the library and the tests carry no module attribute, and a non-assembly is skipped");
    }

    [Fact]
    public void The_test_folder_itself_has_no_module_package()
    {
        // The core's tests reference no module: discovery must not invent one.
        ModuleDiscovery.Find().Should().BeEmpty();
    }
}
