using System.CommandLine;
using Robustness.Cli.Commands;
using Robustness.Protection;

namespace Robustness.Cli;

/// <summary>Builds the command tree and runs it with the tool's error conventions.</summary>
public static class CliApplication
{
    /// <summary>The root command with every sub-command.</summary>
    public static RootCommand BuildRootCommand(TextWriter output, TextWriter error) => BuildRootCommand(output, error, BuiltInProtectors.All);

    /// <summary>The root command, with <c>protect</c> offering the methods of <paramref name="protectors"/>.</summary>
    public static RootCommand BuildRootCommand(TextWriter output, TextWriter error, IReadOnlyList<ProtectorDefinition> protectors)
    {
        var root = new RootCommand("Robustness: protect image data, prune robust models, and verify both with attacks.");
        root.Add(TrainCommand.Create(output, error));
        root.Add(EvaluateCommand.Create(output, error));
        root.Add(AttackCommand.Create(output, error));
        root.Add(ProtectCommand.Create(output, error, protectors));
        root.Add(VerifyCommand.Create(output, error));
        root.Add(PruneCommand.Create(output, error));
        root.Add(DemoCommand.Create(output, error));
        root.Add(DoctorCommand.Create(output, error));
        return root;
    }

    /// <summary>
    /// Parses and runs. Bad arguments print one line to <paramref name="error"/> and return 2; failures of the
    /// work print one line and return 1; Ctrl+C returns 130.
    /// </summary>
    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error) => RunAsync(args, output, error, BuiltInProtectors.All);

    /// <summary>As <see cref="RunAsync(string[], TextWriter, TextWriter)"/>, with <c>protect</c> offering the methods of <paramref name="protectors"/>.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, IReadOnlyList<ProtectorDefinition> protectors)
    {
        var root = BuildRootCommand(output, error, protectors);
        ParseResult parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            // One line: the most specific message first (an unknown token says more than "command missing").
            var messages = parse.Errors.Select(e => OneLine(e.Message)).Distinct()
                .OrderBy(m => m.StartsWith("Required command", StringComparison.Ordinal)).ToArray();
            string help = string.Join(' ', new[] { "robustness", CommandPath(parse), "--help" }.Where(p => p.Length > 0));
            error.WriteLine($"robustness: {string.Join("; ", messages)} (see '{help}')");
            return ExitCodes.BadArguments;
        }

        using var cancellation = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cancellation.Cancel(); };
        Console.CancelKeyPress += onCancel;
        try
        {
            Runtime.TorchRuntime.ConfigureFromEnvironment();
            var config = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false };
            return await parse.InvokeAsync(config, cancellation.Token);
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

    private static bool IsUsageError(Exception e) => e is UsageException or ArgumentException;

    private static string OneLine(Exception e) => OneLine(e.Message);

    private static string OneLine(string message) =>
        string.Join(' ', message.Split(['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static string CommandPath(ParseResult parse)
    {
        var names = new List<string>();
        for (var result = parse.CommandResult; result is not null; result = result.Parent as System.CommandLine.Parsing.CommandResult)
            if (result.Command is not RootCommand) names.Insert(0, result.Command.Name);
        return string.Join(' ', names);
    }
}
