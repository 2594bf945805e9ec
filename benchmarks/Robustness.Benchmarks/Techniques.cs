using Microsoft.Extensions.DependencyInjection;
using Robustness.Hosting;

namespace Robustness.Benchmarks;

/// <summary>The technique catalogue the benchmarks build attacks, protectors and pruners from, as the tool does.</summary>
public static class Techniques
{
    private static readonly ServiceProvider Services = Build();

    /// <summary>The catalogue with the built-in attacks, protectors and pruners.</summary>
    public static ITechniqueCatalog Catalog { get; } = Services.GetRequiredService<ITechniqueCatalog>();

    private static ServiceProvider Build()
    {
        var services = new ServiceCollection();
        services.AddRobustness().AddAttacks().AddProtectors().AddPruners();
        return services.BuildServiceProvider();
    }
}
