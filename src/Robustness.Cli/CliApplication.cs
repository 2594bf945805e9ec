using System.CommandLine;
using System.CommandLine.Parsing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Robustness.Cli.Abstractions;
using Robustness.Cli.Output;
using Robustness.Hosting;

namespace Robustness.Cli;

/// <summary>
/// The tool as a host: it builds a service provider with <c>AddRobustness()</c>, the built-in techniques, its own
/// commands (<see cref="BuiltInCommands"/>), the module packages shipped beside it (<see cref="ModuleDiscovery"/>: the
/// efficiency module) and whatever <c>configure</c> adds (a module's techniques and commands), then builds its command
/// tree from every registered <see cref="ICommandContributor"/> and runs it.
/// </summary>
public static class CliApplication
{
    /// <summary>The name the library's own techniques, model families and commands are listed under.</summary>
    public const string CoreModuleName = "robustness";

    /// <summary>
    /// The services of the tool: the catalogue with the built-in families, the built-in commands, the module packages in
    /// the tool's folder (each assembly marked <see cref="RobustnessModuleAttribute"/>), then <paramref name="configure"/>'s.
    /// </summary>
    public static ServiceProvider CreateHost(Action<RobustnessBuilder>? configure = null)
    {
        var services = new ServiceCollection();
        var log = new CliLog();
        services.AddSingleton(log);
        // The provider decides what is written (its level follows --verbosity); the factory lets everything through to it.
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Trace).AddProvider(log));
        var builder = services.AddRobustness().AddModule(CoreModuleName,
            "The library's own: the attack suite, data protection, pruning, the model zoo and the tool's commands.",
            core => core.AddAttacks().AddProtectors().AddPruners().AddBuiltInModelFamilies().AddCommands<BuiltInCommands>());
        ModuleDiscovery.InstallAll(builder);
        configure?.Invoke(builder);
        return services.BuildServiceProvider();
    }

    /// <summary><c>--verbosity quiet|normal|detailed|diagnostic</c>, on every command: how much of the library's log reaches stderr.</summary>
    private static Option<string> CreateVerbosity()
    {
        var option = new Option<string>("--verbosity", "-v")
        {
            Description = "How much of the library's log to write to stderr: quiet (errors), normal (warnings), detailed (per-epoch progress and settings), diagnostic.",
            DefaultValueFactory = _ => "normal",
            Recursive = true,
        };
        option.AcceptOnlyFromAmong([.. CliLog.Verbosities.Keys]);
        return option;
    }

    /// <summary>The root command with every contributed command; a name contributed twice is refused.</summary>
    public static RootCommand BuildRootCommand(TextWriter output, TextWriter error, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var root = new RootCommand("Robustness: protect image data, prune robust models, and verify both with attacks.");
        var context = new CommandContext(output, error, services);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var contributor in services.GetServices<ICommandContributor>())
            foreach (var command in contributor.CreateCommands(context))
            {
                if (!names.Add(command.Name))
                    throw new InvalidOperationException($"Two command contributors add a command named '{command.Name}' ({contributor.GetType().Name} is the second).");
                root.Add(command);
            }
        root.Add(CreateVerbosity());
        CliVocabulary.Apply(root);
        return root;
    }

    /// <summary>
    /// Parses and runs. Bad arguments print one line to <paramref name="error"/> and return 2; failures of the
    /// work print one line and return 1; Ctrl+C returns 130.
    /// </summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, Action<RobustnessBuilder>? configure = null)
    {
        await using var services = CreateHost(configure);
        var root = BuildRootCommand(output, error, services);
        ParseResult parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            // One line: the most specific message first (an unknown token says more than "command missing").
            var messages = parse.Errors.Select(Describe).Distinct()
                .OrderBy(m => m.StartsWith("Required command", StringComparison.Ordinal)).ToArray();
            string help = string.Join(' ', new[] { "robustness", CommandPath(parse), "--help" }.Where(p => p.Length > 0));
            error.WriteLine($"robustness: {string.Join("; ", messages)} (see '{help}')");
            return ExitCodes.BadArguments;
        }
        var log = services.GetRequiredService<CliLog>();
        log.Writer = error;
        if (root.Options.FirstOrDefault(o => o.Name == "--verbosity") is Option<string> verbosity && parse.GetValue(verbosity) is string level
            && CliLog.Verbosities.TryGetValue(level, out var minimum))
            log.Minimum = minimum;

        using var cancellation = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cancellation.Cancel(); };
        Console.CancelKeyPress += onCancel;
        try
        {
            Runtime.TorchRuntime.ConfigureFromEnvironment();
            // libtorch is loaded before the command runs, so a missing or broken one is one line, not TorchSharp's trace.
            if (parse.Action is not System.CommandLine.Help.HelpAction && !args.Contains("--version") && NativeLoadFailure.TryLoad() is var (failure, trace))
            {
                error.WriteLine($"robustness: {NativeLoadFailure.Describe(failure)}");
                if (log.Minimum <= LogLevel.Trace) error.WriteLine($"{trace}{Environment.NewLine}{failure}");
                return ExitCodes.Failure;
            }
            var config = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false };
            return await parse.InvokeAsync(config, cancellation.Token);
        }
        catch (Exception e) when (NativeLoadFailure.Describe(e) is string line)
        {
            error.WriteLine($"robustness: {line}");
            if (log.Minimum <= LogLevel.Trace) error.WriteLine(e);
            return ExitCodes.Failure;
        }
        catch (Exception e) when (IsUsageError(e))
        {
            error.WriteLine($"robustness: {OneLine(e)}");
            return ExitCodes.BadArguments;
        }
        catch (OperationCanceledException)
        {
            error.WriteLine("robustness: cancelled.");
            return ExitCodes.Cancelled;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or InvalidOperationException or NotSupportedException)
        {
            error.WriteLine($"robustness: {OneLine(e)}");
            return ExitCodes.Failure;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    // A value outside an option's allowed ones: System.CommandLine's message does not say which option it was.
    private static string Describe(ParseError error)
    {
        string message = OneLine(error.Message);
        var option = error.SymbolResult switch
        {
            OptionResult o => o.Option,
            ArgumentResult { Parent: OptionResult o } => o.Option,
            _ => null,
        };
        return option is null || message.Contains(option.Name, StringComparison.Ordinal) ? message : $"{option.Name}: {message}";
    }

    private static bool IsUsageError(Exception e) => e is UsageException or ArgumentException;

    private static string OneLine(Exception e) => ExceptionText.Of(e);

    private static string OneLine(string message) => ExceptionText.OneLine(message);

    private static string CommandPath(ParseResult parse)
    {
        var names = new List<string>();
        for (var result = parse.CommandResult; result is not null; result = result.Parent as System.CommandLine.Parsing.CommandResult)
            if (result.Command is not RootCommand) names.Insert(0, result.Command.Name);
        return string.Join(' ', names);
    }
}
