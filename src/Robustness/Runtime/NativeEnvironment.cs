using System.Runtime.InteropServices;

namespace Robustness.Runtime;

/// <summary>
/// The process environment as native libraries read it. On Linux and macOS .NET keeps its own copy of the
/// environment: <see cref="Environment.SetEnvironmentVariable(string, string)"/> never reaches the C library's
/// <c>environ</c>, which is what oneDNN's <c>getenv</c> reads. Windows has one environment block for both.
/// </summary>
internal static class NativeEnvironment
{
    /// <summary>The variable's value as native code sees it, or null when it is not set.</summary>
    public static string? Get(string name)
    {
        if (OperatingSystem.IsWindows()) return Environment.GetEnvironmentVariable(name);
        IntPtr value = getenv(name);
        return value == IntPtr.Zero ? null : Marshal.PtrToStringUTF8(value);
    }

    /// <summary>
    /// Sets the variable for native code unless it is already set; true when it was set here. On Linux and macOS only
    /// the C library's copy changes, so child processes (a PyTorch baseline, a worker) start from .NET's copy without
    /// it; on Windows the one block changes and children inherit it.
    /// </summary>
    public static bool SetIfUnset(string name, string value)
    {
        if (Get(name) is not null) return false;
        if (OperatingSystem.IsWindows()) Environment.SetEnvironmentVariable(name, value);
        else if (setenv(name, value, 0) != 0)
            throw new InvalidOperationException($"setenv({name}) failed with errno {Marshal.GetLastPInvokeError()}.");
        return true;
    }

    [DllImport("libc", ExactSpelling = true)]
    private static extern IntPtr getenv([MarshalAs(UnmanagedType.LPUTF8Str)] string name);

    [DllImport("libc", ExactSpelling = true, SetLastError = true)]
    private static extern int setenv([MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, int overwrite);
}
