namespace Robustness.Cli;

/// <summary>
/// An exception's message as a person reads it on one line: without .NET's "(Parameter 'x')" and "Actual value was v."
/// tails, which repeat what the message already names.
/// </summary>
public static class ExceptionText
{
    /// <summary>The cleaned message of <paramref name="exception"/>.</summary>
    public static string Of(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        string message = exception.Message;
        if (exception is ArgumentException { ParamName: { } name }) message = message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal);
        if (exception is ArgumentOutOfRangeException { ActualValue: { } value })
            message = message.Replace($"Actual value was {value}.", "", StringComparison.Ordinal);
        return OneLine(message);
    }

    /// <summary><paramref name="message"/> with its line breaks and tabs folded into single spaces.</summary>
    public static string OneLine(string message) =>
        string.Join(' ', message.Split(['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
