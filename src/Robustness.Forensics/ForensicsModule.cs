using Robustness.Cli.Abstractions;
using Robustness.Forensics;
using Robustness.Hosting;

[assembly: RobustnessModule(typeof(ForensicsModuleInstaller))]

namespace Robustness.Forensics;

/// <summary>
/// Installs the forensics module (model parsing of adversarial attacks): the <c>forensics</c> command with its
/// <c>zoo</c> (the victim zoo) and <c>attacks</c> (the attack records) subcommands. The model parsing network and its
/// evaluation register here as they arrive.
/// </summary>
public static class ForensicsModule
{
    /// <summary>The module's name in <c>robustness modules</c>.</summary>
    public const string Name = "forensics";

    /// <summary>Installs the module: <c>services.AddRobustness().AddForensics()</c>.</summary>
    public static RobustnessBuilder AddForensics(this RobustnessBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddModule(Name, "Forensics: model parsing of adversarial attacks; the victim zoo (architecture x kernel size x activation x weight sparsity) and its attack records.",
            module => module.AddCommand(ForensicsCommand.Create));
    }
}

/// <summary>What the <c>robustness</c> tool calls to install the module it ships (<see cref="ModuleDiscovery"/>).</summary>
public sealed class ForensicsModuleInstaller : IRobustnessModuleInstaller
{
    /// <inheritdoc />
    public void Install(RobustnessBuilder builder) => builder.AddForensics();
}
