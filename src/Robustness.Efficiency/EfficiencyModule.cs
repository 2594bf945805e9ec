using Robustness.Cli.Abstractions;
using Robustness.Efficiency;
using Robustness.Hosting;

[assembly: RobustnessModule(typeof(EfficiencyModuleInstaller))]

namespace Robustness.Efficiency;

/// <summary>
/// Installs the efficiency module: the <c>channel-selector</c> technique family (L1-norm and nested selection), the
/// <c>slice</c> command and All-in-One's <c>multi-ratio</c> command. Further techniques (token pruning, early exits) register here too.
/// </summary>
public static class EfficiencyModule
{
    /// <summary>The module's name in <c>robustness modules</c>.</summary>
    public const string Name = "efficiency";

    /// <summary>Installs the module: <c>services.AddRobustness().AddEfficiency()</c>.</summary>
    public static RobustnessBuilder AddEfficiency(this RobustnessBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddModule(Name, "Efficiency: structured channel slicing into smaller dense models, and All-in-One (one weight set for several channel ratios, switched to meet a latency target).", module =>
        {
            module.AddFamily(ChannelSelectors.Family);
            foreach (var selector in ChannelSelectors.All)
                module.AddTechnique(ChannelSelectors.Family, selector.Name, selector.Description, _ => selector);
            module.AddCommand(SliceCommand.Create);
            module.AddCommand(MultiRatioCommand.Create);
        });
    }
}

/// <summary>What the <c>robustness</c> tool calls to install the module it ships (<see cref="ModuleDiscovery"/>).</summary>
public sealed class EfficiencyModuleInstaller : IRobustnessModuleInstaller
{
    /// <inheritdoc />
    public void Install(RobustnessBuilder builder) => builder.AddEfficiency();
}
