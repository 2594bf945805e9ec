using System.CommandLine;
using System.Globalization;
using Robustness.Attacks;
using Robustness.Protection.Batch;

namespace Robustness.Cli.Commands;

/// <summary><c>robustness verify</c>: checks that a protected folder is complete and within its budget.</summary>
public static class VerifyCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(TextWriter output, TextWriter error)
    {
        var input = new Option<string>("--input") { Description = "The clean input folder (class folders).", Required = true };
        var outputDir = new Option<string>("--output") { Description = "The protected output folder written by 'robustness protect'.", Required = true };
        var eps = new Option<string?>("--eps") { Description = "The l-inf budget to check (8/255, 0.03, 8px); default: the one in <output>/.robustness/run.json." };
        var command = new Command("verify",
            "Check a protected folder: every readable input has its output, each output decodes, has the input's size and is within the budget, and the manifests' SHA-256 match.")
        {
            input, outputDir, eps,
        };
        command.SetAction((parse, cancel) =>
        {
            string inputRoot = parse.GetValue(input)!, outputRoot = parse.GetValue(outputDir)!;
            if (!Directory.Exists(inputRoot)) throw new UsageException($"--input folder '{inputRoot}' does not exist.");
            if (!Directory.Exists(outputRoot)) throw new UsageException($"--output folder '{outputRoot}' does not exist.");
            double? budget = parse.GetValue(eps) is { } text ? ProtectCommand.ParseBudget(text, "--eps") : null;
            var result = ProtectedFolderVerifier.Verify(inputRoot, outputRoot, budget, cancellationToken: cancel);
            Write(output, result);
            return Task.FromResult(result.Passed ? ExitCodes.Success : ExitCodes.Failure);
        });
        return command;
    }

    /// <summary>Writes a verification's notes, problems, visibility and verdict (also used by <c>protect --verify</c>).</summary>
    public static void Write(TextWriter output, VerificationResult result)
    {
        foreach (string note in result.Notes) output.WriteLine($"note: {note}");
        foreach (string problem in result.Problems) output.WriteLine($"problem: {problem}");
        if (result.Quality is { } quality) output.WriteLine($"Visibility: {quality}.");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{(result.Passed ? "OK" : "FAILED")}: {result.Checked} output(s) checked against a bound of {result.Levels} levels; {result.Problems.Count} problem(s), {result.Notes.Count} input(s) not expected to have an output."));
    }
}
