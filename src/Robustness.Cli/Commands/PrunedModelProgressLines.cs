using System.Globalization;
using Robustness.Cli.Output;
using Robustness.Pruning;

namespace Robustness.Cli.Commands;

/// <summary>The prune command's progress lines for <see cref="PrunedModelEvaluation"/>: one plain line per report.</summary>
internal static class PrunedModelProgressLines
{
    public static IProgress<PrunedModelProgress> To(TextWriter output) => new SyncProgress<PrunedModelProgress>(r =>
    {
        var p = r.Progress;
        output.WriteLine(r.Stage == "pgd-10"
            ? string.Create(CultureInfo.InvariantCulture, $"  {r.Model} pgd-10: batch {p.Batch}/{p.Batches}, elapsed {p.Elapsed:hh\\:mm\\:ss}")
            : string.Create(CultureInfo.InvariantCulture,
                $"  {r.Model} {r.Stage} {p.Stage}: batch {p.Batch}/{p.Batches}{(p.RobustAccuracy is double a ? $", robust accuracy {a:P1}" : "")}, elapsed {p.Elapsed:hh\\:mm\\:ss}"));
    });
}
