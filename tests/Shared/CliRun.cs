using Robustness.Cli;
using Robustness.Hosting;

namespace Robustness.Testing;

/// <summary>
/// Runs the robustness tool in process, as a user would from a shell, and returns its exit code and what it wrote to
/// stdout and stderr. Shared by the test projects that drive commands (linked into each, see their csproj).
/// </summary>
internal static class CliRun
{
    /// <summary>The tool with its built-in commands and the module packages beside it.</summary>
    public static Task<(int Code, string Out, string Err)> Run(params string[] args) => RunWith(null, args);

    /// <summary>The tool with <paramref name="configure"/>'s registrations added (a module or a technique of the test's own).</summary>
    public static async Task<(int Code, string Out, string Err)> RunWith(Action<RobustnessBuilder>? configure, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = await CliApplication.RunAsync(args, output, error, configure);
        return (code, output.ToString(), error.ToString());
    }
}
