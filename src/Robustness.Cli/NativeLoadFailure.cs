using System.Runtime.InteropServices;

namespace Robustness.Cli;

/// <summary>
/// Recognises libtorch failing to load (TorchSharp throws from its static constructor with a hundred-line trace) and
/// says it in one line with what to do: the tool built for this platform, or the backend package for a library.
/// </summary>
public static class NativeLoadFailure
{
    /// <summary>
    /// Loads libtorch now, with TorchSharp's console chatter captured (on failure it prints its probing trace to
    /// stdout before it throws). Returns null when libtorch works, else the exception and what TorchSharp printed.
    /// </summary>
    public static (Exception Error, string Trace)? TryLoad()
    {
        var (stdout, stderr) = (Console.Out, Console.Error);
        using var captured = new StringWriter();
        try
        {
            Console.SetOut(captured);
            Console.SetError(captured);
            TorchSharp.torch.InitializeDeviceType(TorchSharp.DeviceType.CPU);
            return null;
        }
        catch (Exception e) when (Describe(e) is not null)
        {
            return (e, captured.ToString());
        }
        finally
        {
            Console.SetOut(stdout);
            Console.SetError(stderr);
        }
    }

    /// <summary>The one line for <paramref name="exception"/>, or null when it is not a native load failure.</summary>
    public static string? Describe(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        Exception? cause = null;
        for (var e = exception; e is not null; e = e.InnerException)
        {
            bool torchSharp = e is TypeInitializationException t && t.TypeName.StartsWith("TorchSharp", StringComparison.Ordinal);
            bool native = e is DllNotFoundException || (e is NotSupportedException && e.Message.Contains("TorchSharp", StringComparison.Ordinal));
            if (torchSharp || native) cause = e;
        }
        if (cause is null) return null;
        // TorchSharp's own explanation starts with one useful sentence; the rest is its probing trace.
        string first = (cause.InnerException ?? cause).Message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .FirstOrDefault() ?? cause.GetType().Name;
        int end = first.IndexOf(". ", StringComparison.Ordinal);
        if (end > 0) first = first[..end];
        first = first.TrimEnd('.');
        string rid = RuntimeInformation.RuntimeIdentifier;
        return $"libtorch, the native library under TorchSharp, could not be loaded on {rid} ({first}). " +
            $"Install the tool for this platform ('dotnet tool install -g Robustness.Cli' picks it), or in a program reference the package libtorch-cpu-{rid} (or TorchSharp-cpu); " +
            "see README 'Platform notes'; --verbosity diagnostic prints TorchSharp's own trace.";
    }
}
