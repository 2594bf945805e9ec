using System.Diagnostics;
using System.Globalization;
using Robustness.Protection;
using Spectre.Console;

namespace Robustness.Cli.Output;

/// <summary>
/// Shows a protection run's progress: live bars (scan, prepare, protect) with images/s and ETA on a terminal; plain
/// lines otherwise (logs, Slurm output files, pipes), at most one a second per stage plus the last.
/// </summary>
public sealed class ProtectionProgressDisplay(TextWriter output)
{
    /// <summary>True when the output is an interactive terminal (then bars are drawn).</summary>
    public bool Interactive { get; } = Terminal.IsInteractive(output);

    /// <summary>Runs <paramref name="work"/> with a progress sink that draws its reports.</summary>
    public T Run<T>(Func<IProgress<ProtectionProgress>, T> work)
    {
        if (!Interactive)
        {
            var last = new Dictionary<string, Stopwatch>();
            return work(new SyncProgress<ProtectionProgress>(p =>
            {
                bool final = p.Done >= p.Total;
                if (last.TryGetValue(p.Stage, out var since) && since.Elapsed.TotalSeconds < 1 && !final) return;
                last[p.Stage] = Stopwatch.StartNew();
                output.WriteLine(PlainLine(p));
            }));
        }

        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var tasks = new Dictionary<string, ProgressTask>();
                result = work(new SyncProgress<ProtectionProgress>(p =>
                {
                    if (!tasks.TryGetValue(p.Stage, out var task)) tasks[p.Stage] = task = ctx.AddTask(p.Stage);
                    task.MaxValue = Math.Max(1, p.Total);
                    task.Value = p.Done;
                    task.Description = Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"{p.Stage} {p.Done}/{p.Total} {p.ImagesPerSecond:F1}/s"));
                }));
                foreach (var task in tasks.Values) task.Value = task.MaxValue;
            });
        return result;
    }

    /// <summary>The line printed for one report when the output is not a terminal.</summary>
    public static string PlainLine(ProtectionProgress p)
    {
        double rate = p.ImagesPerSecond;
        string eta = rate > 0 && p.Total > p.Done ? TimeSpan.FromSeconds(Math.Min((p.Total - p.Done) / rate, TimeSpan.MaxValue.TotalSeconds / 2)).ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture) : "00:00:00";
        return string.Create(CultureInfo.InvariantCulture,
            $"  {p.Stage} {p.Done}/{p.Total} ({100.0 * p.Done / Math.Max(1, p.Total):F0}%) {rate:F1} img/s elapsed {p.Elapsed:hh\\:mm\\:ss} ETA {eta}");
    }
}
