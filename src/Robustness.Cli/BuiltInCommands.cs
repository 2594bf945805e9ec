using System.CommandLine;
using Robustness.Cli.Abstractions;
using Robustness.Cli.Commands;
using Robustness.Hosting;

namespace Robustness.Cli;

/// <summary>The tool's own commands, contributed like a module's, with the techniques taken from the host's catalogue.</summary>
public sealed class BuiltInCommands : ICommandContributor
{
    /// <inheritdoc />
    public IEnumerable<Command> CreateCommands(CommandContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var (output, error, catalog) = (context.Output, context.Error, context.Catalog);
        return
        [
            TrainCommand.Create(output, error),
            EvaluateCommand.Create(output, error, catalog),
            AttackCommand.Create(output, error, catalog),
            ProtectCommand.Create(output, error, catalog.All(TechniqueFamily.Protectors)),
            VerifyCommand.Create(output, error),
            PruneCommand.Create(output, error, catalog),
            DemoCommand.Create(output, error),
            DoctorCommand.Create(output, error),
        ];
    }
}
