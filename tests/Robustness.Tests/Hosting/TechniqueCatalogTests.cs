using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Robustness.Hosting;
using Xunit;

namespace Robustness.Tests.Hosting;

public interface IGreeter { string Greet(); }
internal sealed class Hello : IGreeter { public string Greet() => "hello"; }
internal sealed class Bonjour : IGreeter { public string Greet() => "bonjour"; }

internal static class GreeterModule
{
    // A module's own typed family (the built-in ones are typed too: attacks hold AttackDefinitions only).
    public static TechniqueFamily<IGreeter> Greetings { get; } = new("greeting", "Says hello in some language.");

    // The shape every module follows: one extension method on RobustnessBuilder.
    public static RobustnessBuilder AddGreeters(this RobustnessBuilder builder) => builder
        .AddFamily(Greetings)
        .AddTechnique(Greetings, "hello", "Says hello.", _ => new Hello())
        .AddTechnique(Greetings, "bonjour", "Says bonjour.", _ => new Bonjour());
}

public class TechniqueCatalogTests
{
    [Fact]
    public void AddRobustness_registers_the_built_in_families_empty()
    {
        using var provider = new ServiceCollection().AddRobustness().Services.BuildServiceProvider();
        var catalog = provider.GetRequiredService<ITechniqueCatalog>();

        catalog.Families.Select(f => f.Name).Should().Contain(["attack", "protector", "pruner"]);
        foreach (var family in TechniqueFamily.BuiltIn) catalog.InFamily(family).Should().BeEmpty();
    }

    [Fact]
    public void A_module_adds_techniques_with_one_call_and_they_are_found_by_name()
    {
        var services = new ServiceCollection();
        services.AddRobustness().AddGreeters();
        using var provider = services.BuildServiceProvider();
        var catalog = provider.GetRequiredService<ITechniqueCatalog>();

        catalog.InFamily(GreeterModule.Greetings).Select(t => t.Name).Should().Equal("bonjour", "hello");
        catalog.Create<IGreeter>(GreeterModule.Greetings, "HELLO ").Greet().Should().Be("hello");
        catalog.Create(GreeterModule.Greetings, "bonjour").Greet().Should().Be("bonjour", "a typed family needs no type argument");
        catalog.Find(GreeterModule.Greetings, "bonjour")!.ServiceType.Should().Be(typeof(IGreeter));
    }

    [Fact]
    public void An_unknown_name_raises_an_error_listing_the_known_ones()
    {
        var services = new ServiceCollection();
        services.AddRobustness().AddGreeters();
        using var provider = services.BuildServiceProvider();
        var catalog = provider.GetRequiredService<ITechniqueCatalog>();

        var act = () => catalog.Create<IGreeter>(GreeterModule.Greetings, "hola");
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*hola*bonjour, hello*");
        var empty = () => catalog.Create<IGreeter>(TechniqueFamily.Pruners, "x");
        empty.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*family is empty*");
    }

    [Fact]
    public void A_later_registration_replaces_an_earlier_one_and_AddRobustness_is_idempotent()
    {
        var services = new ServiceCollection();
        services.AddRobustness().AddFamily(GreeterModule.Greetings).AddTechnique(GreeterModule.Greetings, "hello", "first", _ => new Hello());
        services.AddRobustness().AddTechnique(GreeterModule.Greetings, "hello", "second", _ => new Bonjour());
        using var provider = services.BuildServiceProvider();
        var catalog = provider.GetRequiredService<ITechniqueCatalog>();

        catalog.InFamily(GreeterModule.Greetings).Should().ContainSingle().Which.Description.Should().Be("second");
        catalog.Families.Count(f => f.Name == "attack").Should().Be(1);
    }

    [Fact]
    public void Technique_names_must_be_lower_case_without_spaces()
    {
        var builder = new ServiceCollection().AddRobustness();
        var act = () => builder.AddTechnique<IGreeter>(GreeterModule.Greetings, "My Attack", "x", _ => new Hello());
        act.Should().Throw<ArgumentException>().WithMessage("*lower-case*");
    }

    [Fact]
    public void A_typed_family_refuses_a_technique_of_another_type_when_it_is_registered()
    {
        var builder = new ServiceCollection().AddRobustness();
        var act = () => builder.AddTechnique<IGreeter>(TechniqueFamily.Attacks, "hello", "x", _ => new Hello());
        act.Should().Throw<ArgumentException>().WithMessage("*'attack' holds AttackDefinition*'hello'*IGreeter*");
    }

    [Fact]
    public void A_module_can_bring_its_own_family()
    {
        var family = new TechniqueFamily("parser", "Model parsing of attacks.");
        var services = new ServiceCollection();
        services.AddRobustness().AddFamily(family).AddTechnique<IGreeter>(family, "hello", "x", _ => new Hello());
        using var provider = services.BuildServiceProvider();
        var catalog = provider.GetRequiredService<ITechniqueCatalog>();

        catalog.Families.Should().Contain(family);
        catalog.Create<IGreeter>(family, "hello").Greet().Should().Be("hello");
    }
}
