using System.Globalization;
using Robustness.Pruning;
using Spectre.Console;

namespace Robustness.Cli.Output;

/// <summary>
/// Shows a pruning run's progress: one live bar per phase (loss, learning rate, ETA) on a terminal; one plain line
/// per report otherwise (logs, CI, pipes).
/// </summary>
public sealed class PruningProgressDisplay(TextWriter output)
{
    /// <summary>True when the output is an interactive terminal (then bars are drawn).</summary>
    public bool Interactive { get; } = Terminal.IsInteractive(output);

    /// <summary>Runs <paramref name="work"/> with a progress sink that draws <paramref name="title"/>.</summary>
    public T Run<T>(string title, Func<IProgress<PruningProgress>, T> work)
    {
        if (!Interactive)
        {
            output.WriteLine(title);
            return work(new SyncProgress<PruningProgress>(p => output.WriteLine(PlainLine(p))));
        }

        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                AnsiConsole.MarkupLine(Markup.Escape(title));
                // A bar per phase, made when the phase first reports (a pruner decides which phases it runs).
                var tasks = new Dictionary<PruningPhase, ProgressTask>();
                result = work(new SyncProgress<PruningProgress>(p =>
                {
                    if (!tasks.TryGetValue(p.Phase, out var task))
                    {
                        foreach (var earlier in tasks.Values) earlier.Value = earlier.MaxValue;
                        tasks[p.Phase] = task = ctx.AddTask(PhaseName(p.Phase));
                    }
                    task.MaxValue = (double)p.Epochs * p.Batches;
                    task.Value = (double)p.Epoch * p.Batches + p.Batch;
                    task.Description = Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                        $"{PhaseName(p.Phase)} epoch {p.Epoch + 1}/{p.Epochs} loss {p.Loss:G4} lr {p.LearningRate:G3}"));
                }));
                foreach (var task in tasks.Values) task.Value = task.MaxValue;
            });
        return result;
    }

    /// <summary>The phase as the report names it: <c>admm</c>, <c>hard-prune</c>, <c>retrain</c>.</summary>
    public static string PhaseName(PruningPhase phase) => phase switch
    {
        PruningPhase.Admm => "admm",
        PruningPhase.HardPrune => "hard-prune",
        _ => "retrain",
    };

    /// <summary>The line printed for one report when the output is not a terminal.</summary>
    public static string PlainLine(PruningProgress p) => string.Create(CultureInfo.InvariantCulture,
        $"  {PhaseName(p.Phase)} epoch {p.Epoch + 1}/{p.Epochs} batch {p.Batch}/{p.Batches} loss {p.Loss:G5} lr {p.LearningRate:G4} elapsed {p.Elapsed:hh\\:mm\\:ss}");
}
