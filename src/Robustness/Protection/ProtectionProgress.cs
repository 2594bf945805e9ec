namespace Robustness.Protection;

/// <summary>Progress of a protection run, sent after each batch (and during a protector's preparation).</summary>
/// <param name="Stage">What is running: <c>prepare</c> (class centres, noise learning) or <c>protect</c>.</param>
/// <param name="Done">Images (or, while preparing, steps) done so far.</param>
/// <param name="Total">Images (or steps) in the stage.</param>
/// <param name="ImagesPerSecond">Throughput of the stage so far.</param>
/// <param name="Elapsed">Time since the stage started.</param>
public sealed record ProtectionProgress(string Stage, int Done, int Total, double ImagesPerSecond, TimeSpan Elapsed);
