namespace Robustness;

/// <summary>
/// An <see cref="IProgress{T}"/> that runs its handler on the reporting thread, at once. Pass it where a technique takes
/// a progress callback and the order matters: <see cref="Progress{T}"/> posts each report to the thread pool, so lines
/// written from it can arrive out of order, or after the work (and the command's summary line) has ended.
/// </summary>
/// <typeparam name="T">The report.</typeparam>
/// <param name="handler">Called with every report, on the reporting thread.</param>
public sealed class SyncProgress<T>(Action<T> handler) : IProgress<T>
{
    /// <inheritdoc />
    public void Report(T value) => handler(value);
}
