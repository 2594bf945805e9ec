namespace Robustness.Cli.Output;

/// <summary>
/// An <see cref="IProgress{T}"/> that runs its handler on the reporting thread, at once. (System.Progress posts
/// to the thread pool, so reports could arrive after the work ended, out of order.)
/// </summary>
public sealed class SyncProgress<T>(Action<T> handler) : IProgress<T>
{
    /// <inheritdoc />
    public void Report(T value) => handler(value);
}
