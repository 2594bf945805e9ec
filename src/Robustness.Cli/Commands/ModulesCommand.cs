using Robustness.Cli.Output;
using System.CommandLine;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Robustness.Cli.Abstractions;
using Robustness.Hosting;

namespace Robustness.Cli.Commands;

/// <summary><c>robustness modules [--json]</c>: the installed modules, with the techniques, model families and commands each brings.</summary>
public static class ModulesCommand
{
    /// <summary>What one module brings, as listed.</summary>
    public sealed record ModuleListing(string Name, string Description, string Assembly, string Version,
        IReadOnlyDictionary<string, IReadOnlyList<string>> Techniques, IReadOnlyList<string> ModelFamilies, IReadOnlyList<string> Commands);

    /// <summary>The command; it reads the host's modules through <paramref name="context"/>.</summary>
    public static Command Create(CommandContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var json = new Option<bool>("--json") { Description = "Print the listing as JSON." };
        var command = new Command("modules", "List the installed modules: their techniques, model families and commands.") { json };
        command.SetAction(parse =>
        {
            var listings = List(context);
            if (parse.GetValue(json))
            {
                context.Output.WriteLine(JsonSerializer.Serialize(listings, ReportJson.Options));
                return 0;
            }
            foreach (var m in listings)
            {
                context.Output.WriteLine($"{m.Name} {m.Version} ({m.Assembly}): {m.Description}");
                foreach (var (family, names) in m.Techniques) context.Output.WriteLine($"  {family}: {string.Join(", ", names)}");
                if (m.ModelFamilies.Count > 0) context.Output.WriteLine($"  model families: {string.Join(", ", m.ModelFamilies)}");
                if (m.Commands.Count > 0) context.Output.WriteLine($"  commands: {string.Join(", ", m.Commands)}");
            }
            return 0;
        });
        return command;
    }

    /// <summary>Every module of the host, in registration order; registrations made outside any module are listed under "(no module)".</summary>
    public static IReadOnlyList<ModuleListing> List(CommandContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var modules = context.Services.GetServices<RobustnessModule>().ToArray();
        var contributors = context.Services.GetServices<ICommandContributor>().ToArray();
        // Command names: built on a silent context, so listing never writes.
        var silent = context with { Output = TextWriter.Null, Error = TextWriter.Null };
        string[] CommandsOf(IEnumerable<ICommandContributor> of) => of.SelectMany(c => c.CreateCommands(silent)).Select(c => c.Name).ToArray();

        var listings = modules.Select(m => new ModuleListing(m.Name, m.Description, m.Assembly, m.Version,
            m.Techniques.GroupBy(t => t.Family.Name).ToDictionary(g => g.Key, g => (IReadOnlyList<string>)g.Select(t => t.Name).Order(StringComparer.Ordinal).ToArray()),
            m.ModelFamilies.Order(StringComparer.Ordinal).ToArray(),
            CommandsOf(contributors.Where(m.Contributed)))).ToList();

        var attributed = modules.SelectMany(m => m.Techniques.Select(t => (t.Family.Name, t.Name))).ToHashSet();
        var loose = context.Catalog.Families
            .SelectMany(f => context.Catalog.InFamily(f).Where(t => !attributed.Contains((f.Name, t.Name))).Select(t => (Family: f.Name, t.Name)))
            .GroupBy(t => t.Family).ToDictionary(g => g.Key, g => (IReadOnlyList<string>)g.Select(t => t.Name).ToArray());
        var looseFamilies = context.Models.Names.Except(modules.SelectMany(m => m.ModelFamilies)).ToArray();
        var looseCommands = CommandsOf(contributors.Where(c => !modules.Any(m => m.Contributed(c))));
        if (loose.Count > 0 || looseFamilies.Length > 0 || looseCommands.Length > 0)
            listings.Add(new ModuleListing("(no module)", "registered outside AddModule", "-", "-", loose, looseFamilies, looseCommands));
        return listings;
    }
}
