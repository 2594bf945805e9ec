namespace Robustness.Cli;

/// <summary>Process exit codes of the robustness tool.</summary>
public static class ExitCodes
{
    /// <summary>Everything went well.</summary>
    public const int Success = 0;

    /// <summary>The work ran but failed (an I/O error, a corrupt model file, some files failed in a batch job).</summary>
    public const int Failure = 1;

    /// <summary>Bad command-line arguments or option values; nothing was done.</summary>
    public const int BadArguments = 2;

    /// <summary>Cancelled by the user (Ctrl+C).</summary>
    public const int Cancelled = 130;
}
