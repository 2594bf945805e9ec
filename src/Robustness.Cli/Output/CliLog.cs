using Microsoft.Extensions.Logging;

namespace Robustness.Cli.Output;

/// <summary>
/// The tool's log: the library's <see cref="ILogger"/> messages (per-epoch accuracy, AutoAttack's warnings) as one line
/// each on the tool's error writer, from the level <c>--verbosity</c> sets (quiet: errors, normal: warnings, detailed:
/// information). A provider of its own rather than the console logger because it writes to the writer the tool was
/// given (tests and hosts capture it) and its level is set after the command line is parsed.
/// </summary>
public sealed class CliLog : ILoggerProvider
{
    /// <summary>Where lines go; <see cref="TextWriter.Null"/> until the tool sets it.</summary>
    public TextWriter Writer { get; set; } = TextWriter.Null;

    /// <summary>The lowest level written.</summary>
    public LogLevel Minimum { get; set; } = LogLevel.Warning;

    /// <summary>The verbosity names and their levels.</summary>
    public static IReadOnlyDictionary<string, LogLevel> Verbosities { get; } = new Dictionary<string, LogLevel>
    {
        ["quiet"] = LogLevel.Error,
        ["normal"] = LogLevel.Warning,
        ["detailed"] = LogLevel.Information,
        ["diagnostic"] = LogLevel.Trace,
    };

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName[(categoryName.LastIndexOf('.') + 1)..]);

    /// <inheritdoc />
    public void Dispose() { }

    private sealed class Logger(CliLog owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= owner.Minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            string level = logLevel switch
            {
                LogLevel.Trace => "trace", LogLevel.Debug => "debug", LogLevel.Information => "info",
                LogLevel.Warning => "warning", LogLevel.Error => "error", _ => "critical",
            };
            string line = $"{level}: {category}: {formatter(state, exception)}{(exception is null ? "" : $" ({exception.Message})")}";
            lock (owner) owner.Writer.WriteLine(line);
        }
    }
}
