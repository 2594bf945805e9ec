namespace Robustness.Hosting;

/// <summary>The techniques registered with <see cref="RobustnessServiceCollectionExtensions.AddRobustness"/>, by family and name.</summary>
public interface ITechniqueCatalog
{
    /// <summary>Every family known to the catalogue, including families with no technique yet.</summary>
    IReadOnlyList<TechniqueFamily> Families { get; }

    /// <summary>The techniques of <paramref name="family"/>, ordered by name.</summary>
    IReadOnlyList<TechniqueDescriptor> InFamily(TechniqueFamily family);

    /// <summary>The technique <paramref name="name"/> of <paramref name="family"/>, or null.</summary>
    TechniqueDescriptor? Find(TechniqueFamily family, string name);

    /// <summary>Builds technique <paramref name="name"/>; an unknown name raises an exception listing the known ones.</summary>
    T Create<T>(TechniqueFamily family, string name) where T : class;
}

/// <summary>Typed look-ups on <see cref="ITechniqueCatalog"/>.</summary>
public static class TechniqueCatalogExtensions
{
    /// <summary>
    /// Builds technique <paramref name="name"/> of a typed family, e.g. <c>catalog.Create(TechniqueFamily.Attacks, "pgd")</c>
    /// (an <see cref="Attacks.AttackDefinition"/>); an unknown name raises an exception listing the known ones.
    /// </summary>
    public static TDefinition Create<TDefinition>(this ITechniqueCatalog catalog, TechniqueFamily<TDefinition> family, string name) where TDefinition : class
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return catalog.Create<TDefinition>((TechniqueFamily)family, name);
    }

    /// <summary>Every technique of a typed family, built, ordered by name.</summary>
    public static IReadOnlyList<TDefinition> All<TDefinition>(this ITechniqueCatalog catalog, TechniqueFamily<TDefinition> family) where TDefinition : class
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return catalog.InFamily(family).Select(t => catalog.Create<TDefinition>((TechniqueFamily)family, t.Name)).ToArray();
    }

    /// <summary>The names of a family's techniques, ordered.</summary>
    public static IReadOnlyList<string> Names(this ITechniqueCatalog catalog, TechniqueFamily family)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return catalog.InFamily(family).Select(t => t.Name).ToArray();
    }
}

/// <summary>Default catalogue built from the registrations in the service collection.</summary>
internal sealed class TechniqueCatalog : ITechniqueCatalog
{
    private readonly IServiceProvider _services;
    private readonly Dictionary<(string Family, string Name), TechniqueDescriptor> _byName = new();

    public TechniqueCatalog(IServiceProvider services, IEnumerable<TechniqueFamily> families, IEnumerable<TechniqueDescriptor> techniques)
    {
        _services = services;
        Families = families.DistinctBy(f => f.Name, StringComparer.OrdinalIgnoreCase).ToArray();
        foreach (var technique in techniques)
        {
            // The last registration of a name wins, so an application can replace a built-in technique.
            _byName[(technique.Family.Name.ToLowerInvariant(), technique.Name.ToLowerInvariant())] = technique;
        }
    }

    public IReadOnlyList<TechniqueFamily> Families { get; }

    public IReadOnlyList<TechniqueDescriptor> InFamily(TechniqueFamily family)
    {
        ArgumentNullException.ThrowIfNull(family);
        return _byName.Values.Where(t => string.Equals(t.Family.Name, family.Name, StringComparison.OrdinalIgnoreCase))
            .OrderBy(t => t.Name, StringComparer.Ordinal).ToArray();
    }

    public TechniqueDescriptor? Find(TechniqueFamily family, string name)
    {
        ArgumentNullException.ThrowIfNull(family);
        ArgumentNullException.ThrowIfNull(name);
        return _byName.GetValueOrDefault((family.Name.ToLowerInvariant(), name.Trim().ToLowerInvariant()));
    }

    public T Create<T>(TechniqueFamily family, string name) where T : class
    {
        var technique = Find(family, name);
        if (technique is null)
        {
            var known = InFamily(family).Select(t => t.Name).ToArray();
            throw new ArgumentOutOfRangeException(nameof(name), name,
                known.Length == 0
                    ? $"No {family.Name} technique is registered (the family is empty)."
                    : $"Unknown {family.Name} '{name}'. Known: {string.Join(", ", known)}.");
        }
        object instance = technique.Factory(_services);
        return instance as T ?? throw new InvalidOperationException(
            $"{family.Name} '{technique.Name}' produced a {instance.GetType().Name}, not a {typeof(T).Name}.");
    }
}
