using Robustness.Models;
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
        var (output, error, catalog, models) = (context.Output, context.Error, context.Catalog, context.Models);
        return
        [
            TrainCommand.Create(output, error, models, context.Loggers),
            ImportCommand.Create(output, error, models),
            EvaluateCommand.Create(output, error, catalog, models, context.Loggers),
            AttackCommand.Create(output, error, catalog, models, context.Loggers),
            ProtectCommand.Create(output, error, catalog.All(TechniqueFamily.Protectors), models),
            VerifyCommand.Create(output, error),
            EvaluateProtectionCommand.Create(output, error, models),
            PruneCommand.Create(output, error, catalog, models),
            DemoCommand.Create(output, error),
            DoctorCommand.Create(output, error),
            ModulesCommand.Create(context),
            CardCommand.Create(context),
        ];
    }
}
