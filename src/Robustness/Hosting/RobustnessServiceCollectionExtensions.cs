using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Robustness.Hosting;

/// <summary>Registers Robustness with Microsoft.Extensions.DependencyInjection.</summary>
public static class RobustnessServiceCollectionExtensions
{
    /// <summary>
    /// Adds the technique catalogue (<see cref="ITechniqueCatalog"/>) with the built-in families (attacks,
    /// protectors, pruners) and logging. Safe to call more than once.
    /// </summary>
    public static RobustnessBuilder AddRobustness(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddLogging();
        if (!services.Any(d => d.ServiceType == typeof(ITechniqueCatalog)))
        {
            foreach (var family in TechniqueFamily.BuiltIn) services.AddSingleton(family);
            services.TryAddSingleton<ITechniqueCatalog>(sp => new TechniqueCatalog(
                sp, sp.GetServices<TechniqueFamily>(), sp.GetServices<TechniqueDescriptor>()));
        }
        return new RobustnessBuilder(services);
    }
}
