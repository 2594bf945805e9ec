namespace Robustness.Hosting;

/// <summary>One technique in the catalogue: its family, its name, what it is, and how to build it.</summary>
/// <param name="Family">The family it belongs to.</param>
/// <param name="Name">Its name within the family, lower-case with dashes (e.g. <c>pgd</c>, <c>sep-fa</c>).</param>
/// <param name="Description">One line for listings and help texts.</param>
/// <param name="ServiceType">The interface or class the factory returns.</param>
/// <param name="Factory">Builds an instance from the service provider.</param>
public sealed record TechniqueDescriptor(
    TechniqueFamily Family,
    string Name,
    string Description,
    Type ServiceType,
    Func<IServiceProvider, object> Factory);
