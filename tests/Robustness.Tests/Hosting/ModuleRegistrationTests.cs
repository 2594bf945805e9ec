using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Robustness.Hosting;
using Robustness.Models;
using Robustness.Protection;
using Xunit;

namespace Robustness.Tests.Hosting;

/// <summary>A module's registrations are recorded as its own, and the catalogue and the model registry serve them.</summary>
public class ModuleRegistrationTests
{
    [Fact]
    public void A_module_records_the_techniques_and_model_families_it_registers()
    {
        var services = new ServiceCollection();
        var family = new DelegateModelFamily("test-net", "test", s => new SmallCnn(s.Classes, 4, s.InputChannels));
        services.AddRobustness().AddProtectors().AddModule("test-module", "a test module", m => m
            .AddTechnique(TechniqueFamily.Protectors, "test-random", "test", _ => RandomNoiseProtector.Definition)
            .AddModelFamily(family));
        using var provider = services.BuildServiceProvider();

        var module = provider.GetServices<RobustnessModule>().Single();
        module.Name.Should().Be("test-module");
        module.Assembly.Should().Be("Robustness.Tests");
        module.Techniques.Should().Equal([(TechniqueFamily.Protectors, "test-random")], "only what the module itself registered");
        module.ModelFamilies.Should().Equal("test-net");
        provider.GetRequiredService<ITechniqueCatalog>().Names(TechniqueFamily.Protectors).Should().Contain(["random", "test-random"]);
        provider.GetRequiredService<ModelFamilyRegistry>().Get("test-net").Should().BeSameAs(family);
    }

    [Fact]
    public void Module_names_are_checked_and_unique()
    {
        var builder = new ServiceCollection().AddRobustness();
        builder.AddModule("one", "first", _ => { });

        var twice = () => builder.AddModule("one", "again", _ => { });
        twice.Should().Throw<ArgumentException>().WithMessage("*'one'*registered already*");
        var badName = () => builder.AddModule("Two Words", "bad", _ => { });
        badName.Should().Throw<ArgumentException>().WithMessage("*lower-case*");
    }
}
