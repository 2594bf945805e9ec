using Robustness.Models;
using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Robustness.Hosting;

namespace Robustness.Cli.Abstractions;

/// <summary>What the tool hands a command contributor: where to write, and the host's services (the catalogue among them).</summary>
/// <param name="Output">Standard output of the tool (a <see cref="StringWriter"/> in tests).</param>
/// <param name="Error">Standard error of the tool.</param>
/// <param name="Services">The host's service provider, built from <c>AddRobustness()</c> and the installed modules.</param>
public sealed record CommandContext(TextWriter Output, TextWriter Error, IServiceProvider Services)
{
    /// <summary>The technique catalogue: the one way a command finds an attack, protector, pruner or a module's technique.</summary>
    public ITechniqueCatalog Catalog => Services.GetRequiredService<ITechniqueCatalog>();

    /// <summary>The model families of the host (built-in and the modules'): what <c>--arch</c> accepts and model files load with.</summary>
    public ModelFamilyRegistry Models => Services.GetRequiredService<ModelFamilyRegistry>();

    /// <summary>The host's loggers (the tool writes them to stderr at its <c>--verbosity</c>); pass them to the library's techniques.</summary>
    public Microsoft.Extensions.Logging.ILoggerFactory Loggers =>
        Services.GetService<Microsoft.Extensions.Logging.ILoggerFactory>() ?? Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance;
}

/// <summary>
/// Adds commands to <c>robustness</c>. The tool builds its command tree from every registered contributor, so a module
/// adds commands without an edit to the tool. Conventions: bad arguments throw <see cref="ArgumentException"/> (exit
/// code 2, one line on stderr), failures of the work throw <see cref="IOException"/>, <see cref="InvalidDataException"/>
/// or <see cref="InvalidOperationException"/> (exit code 1), and an action returns its own exit code otherwise.
/// </summary>
public interface ICommandContributor
{
    /// <summary>The commands to add at the top level of the tool.</summary>
    IEnumerable<Command> CreateCommands(CommandContext context);
}

/// <summary>Registers command contributors with <c>services.AddRobustness()</c>.</summary>
public static class CommandRegistration
{
    /// <summary>Adds the commands made by <typeparamref name="TContributor"/>.</summary>
    public static RobustnessBuilder AddCommands<TContributor>(this RobustnessBuilder builder) where TContributor : class, ICommandContributor
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton<ICommandContributor, TContributor>();
        // The module records the contributor's type; the host matches the instance it builds against it.
        builder.Module?.RecordCommandContributor(typeof(TContributor));
        return builder;
    }

    /// <summary>Adds one command, made by <paramref name="create"/> when the tool builds its command tree.</summary>
    public static RobustnessBuilder AddCommand(this RobustnessBuilder builder, Func<CommandContext, Command> create)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(create);
        var contributor = new DelegateContributor(context => [create(context)]);
        builder.Services.AddSingleton<ICommandContributor>(contributor);
        builder.Module?.RecordCommandContributor(contributor);
        return builder;
    }


    private sealed class DelegateContributor(Func<CommandContext, IEnumerable<Command>> create) : ICommandContributor
    {
        public IEnumerable<Command> CreateCommands(CommandContext context) => create(context);
    }
}
