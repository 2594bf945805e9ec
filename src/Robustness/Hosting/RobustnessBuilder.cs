using Microsoft.Extensions.DependencyInjection;

namespace Robustness.Hosting;

/// <summary>
/// Returned by <see cref="RobustnessServiceCollectionExtensions.AddRobustness"/>; modules add their techniques
/// through it with one extension method each, e.g. <c>services.AddRobustness().AddForensics()</c>.
/// </summary>
public sealed class RobustnessBuilder
{
    internal RobustnessBuilder(IServiceCollection services, RobustnessModule? module = null)
    {
        Services = services;
        Module = module;
    }

    /// <summary>The underlying service collection.</summary>
    public IServiceCollection Services { get; }

    /// <summary>The module whose registration this builder is running (<see cref="AddModule"/>), or null outside one.</summary>
    public RobustnessModule? Module { get; }

    /// <summary>
    /// Registers a module: <paramref name="register"/> adds its techniques, model families and commands through the
    /// builder it is given, and the host records them as the module's (listed by <c>robustness modules</c>). A module
    /// package's one extension method is a call to this, e.g.
    /// <c>builder.AddModule("forensics", "Model parsing of attacks", b => b.AddTechnique(...).AddModelFamily(...))</c>.
    /// </summary>
    public RobustnessBuilder AddModule(string name, string description, Action<RobustnessBuilder> register)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(description);
        ArgumentNullException.ThrowIfNull(register);
        if (name.Any(c => char.IsWhiteSpace(c) || char.IsUpper(c)))
            throw new ArgumentException($"Module name '{name}' must be lower-case with no spaces (use dashes).", nameof(name));
        if (Services.Any(d => d.ImplementationInstance is RobustnessModule m && m.Name == name))
            throw new ArgumentException($"A module named '{name}' is registered already.", nameof(name));
        var module = new RobustnessModule(name, description, register.Method.Module.Assembly);
        Services.AddSingleton(module);
        register(new RobustnessBuilder(Services, module));
        return this;
    }

    /// <summary>
    /// Registers a model family (a network the host can build, save and load by name, e.g. a module's ViT). A
    /// later family of the same name replaces an earlier one, built-in ones included. The host's
    /// <see cref="Models.ModelFamilyRegistry"/> holds them all.
    /// </summary>
    public RobustnessBuilder AddModelFamily(Models.ModelFamily family)
    {
        ArgumentNullException.ThrowIfNull(family);
        Services.AddSingleton(family);
        Module?.RecordModelFamily(family.Name);
        return this;
    }

    /// <summary>Makes a new family known to the catalogue (a module that brings its own kind of technique).</summary>
    public RobustnessBuilder AddFamily(TechniqueFamily family)
    {
        ArgumentNullException.ThrowIfNull(family);
        Services.AddSingleton(family);
        return this;
    }

    /// <summary>
    /// Registers technique <paramref name="name"/> in <paramref name="family"/>, built by <paramref name="factory"/>
    /// each time it is asked for. A later registration of the same name replaces an earlier one.
    /// </summary>
    public RobustnessBuilder AddTechnique<TService>(TechniqueFamily family, string name, string description,
        Func<IServiceProvider, TService> factory) where TService : class
    {
        ArgumentNullException.ThrowIfNull(family);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(description);
        ArgumentNullException.ThrowIfNull(factory);
        if (name.Any(c => char.IsWhiteSpace(c) || char.IsUpper(c)))
            throw new ArgumentException($"Technique name '{name}' must be lower-case with no spaces (use dashes).", nameof(name));
        if (family.DefinitionType is { } expected && !expected.IsAssignableFrom(typeof(TService)))
            throw new ArgumentException(
                $"Family '{family.Name}' holds {expected.Name} techniques; '{name}' would produce a {typeof(TService).Name}.", nameof(factory));
        // In a typed family the technique is known by the family's type, whatever concrete type the factory names.
        Services.AddSingleton(new TechniqueDescriptor(family, name, description, family.DefinitionType ?? typeof(TService), sp => factory(sp)));
        Module?.RecordTechnique(family, name);
        return this;
    }
}
