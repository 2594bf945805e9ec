namespace Robustness.Cli;

/// <summary>A bad argument found after parsing (e.g. two options that exclude each other). Exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);
