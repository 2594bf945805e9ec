using System.Reflection;

namespace Robustness.Hosting;

/// <summary>
/// A set of techniques, model families and commands installed together: the library's own, or a module package's
/// (<c>AddRobustness().AddForensics()</c>). Made by <see cref="RobustnessBuilder.AddModule"/>, which records what the
/// module's registration adds, so a host can list its modules (<c>robustness modules</c>).
/// </summary>
public sealed class RobustnessModule
{
    private readonly List<(TechniqueFamily Family, string Name)> _techniques = [];
    private readonly List<string> _modelFamilies = [];
    private readonly List<object> _commandContributors = [];

    internal RobustnessModule(string name, string description, Assembly assembly)
    {
        Name = name;
        Description = description;
        Assembly = assembly.GetName().Name ?? "?";
        Version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
            ?? assembly.GetName().Version?.ToString() ?? "?";
    }

    /// <summary>The module's name (lower-case, dashes).</summary>
    public string Name { get; }

    /// <summary>One line: what the module brings.</summary>
    public string Description { get; }

    /// <summary>The assembly that registered it.</summary>
    public string Assembly { get; }

    /// <summary>That assembly's version.</summary>
    public string Version { get; }

    /// <summary>The techniques it registered, by family and name, in registration order.</summary>
    public IReadOnlyList<(TechniqueFamily Family, string Name)> Techniques => _techniques;

    /// <summary>The model families it registered, by name.</summary>
    public IReadOnlyList<string> ModelFamilies => _modelFamilies;

    /// <summary>
    /// The command contributors it registered: instances, or the types of contributors the host builds (the tool's
    /// <c>ICommandContributor</c>s; typed object here so the core does not know the tool).
    /// </summary>
    public IReadOnlyList<object> CommandContributors => _commandContributors;

    /// <summary>True when <paramref name="contributor"/> (an instance the host built) is one this module registered.</summary>
    public bool Contributed(object contributor) =>
        _commandContributors.Any(c => ReferenceEquals(c, contributor) || (c is Type type && type == contributor.GetType()));

    internal void RecordTechnique(TechniqueFamily family, string name) => _techniques.Add((family, name));

    internal void RecordModelFamily(string name) => _modelFamilies.Add(name);

    /// <summary>Records a command contributor (an instance or its type) the module registered (called by the tool's registration helpers).</summary>
    public void RecordCommandContributor(object contributor)
    {
        ArgumentNullException.ThrowIfNull(contributor);
        _commandContributors.Add(contributor);
    }

    /// <inheritdoc />
    public override string ToString() => $"{Name} {Version}";
}
