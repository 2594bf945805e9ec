using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Robustness.Hosting;

/// <summary>Registers Robustness with Microsoft.Extensions.DependencyInjection.</summary>
public static class RobustnessServiceCollectionExtensions
{
    /// <summary>
    /// Adds the technique catalogue (<see cref="ITechniqueCatalog"/>) with the built-in families (attacks,
    /// protectors, pruners), the model families (<see cref="Models.ModelFamilyRegistry"/>: the built-in networks and
    /// those added with <see cref="RobustnessBuilder.AddModelFamily"/>) and logging. Safe to call more than once.
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
            // Registered families come after the built-in ones, so a module may replace a built-in network by name.
            services.TryAddSingleton(sp => new Models.ModelFamilyRegistry(
                Models.ModelFamilyRegistry.BuiltIn.Families.Concat(sp.GetServices<Models.ModelFamily>())));
        }
        return new RobustnessBuilder(services);
    }

    /// <summary>
    /// Registers the library's own model families (<see cref="Models.ModelFamilyRegistry.BuiltIn"/>) through the builder,
    /// so that a module listing (the library's own module, in the tool) names them. The registry has them anyway.
    /// </summary>
    public static RobustnessBuilder AddBuiltInModelFamilies(this RobustnessBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        foreach (var family in Models.ModelFamilyRegistry.BuiltIn.Families) builder.AddModelFamily(family);
        return builder;
    }
}
