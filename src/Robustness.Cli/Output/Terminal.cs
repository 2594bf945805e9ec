using Spectre.Console;

namespace Robustness.Cli.Output;

/// <summary>Whether the tool writes to a person at a terminal (live bars) or to a log, a pipe or a test's writer (plain lines).</summary>
public static class Terminal
{
    /// <summary>True when <paramref name="output"/> is the console's own, not redirected, on a terminal Spectre can draw on.</summary>
    public static bool IsInteractive(TextWriter output) =>
        ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
}
