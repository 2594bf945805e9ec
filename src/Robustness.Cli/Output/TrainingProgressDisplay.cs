using System.Globalization;
using Robustness.Training;
using Spectre.Console;

namespace Robustness.Cli.Output;

/// <summary>
/// Shows training progress: a live bar with loss, learning rate, images/s and ETA on a terminal; one plain line
/// per report otherwise (logs, CI, pipes).
/// </summary>
public sealed class TrainingProgressDisplay(TextWriter output)
{
    /// <summary>True when the output is an interactive terminal (then bars are drawn).</summary>
    public bool Interactive { get; } = Terminal.IsInteractive(output);

    /// <summary>Runs <paramref name="work"/> with a progress sink that draws <paramref name="title"/>.</summary>
    public T Run<T>(string title, Func<IProgress<TrainingProgress>, T> work)
    {
        if (!Interactive)
        {
            output.WriteLine(title);
            return work(new SyncProgress<TrainingProgress>(p => output.WriteLine(PlainLine(p))));
        }

        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(title));
                result = work(new SyncProgress<TrainingProgress>(p =>
                {
                    task.MaxValue = (double)p.Epochs * p.BatchesPerEpoch;
                    task.Value = (double)p.Epoch * p.BatchesPerEpoch + p.Batch;
                    task.Description = Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                        $"{title} epoch {p.Epoch + 1}/{p.Epochs} loss {p.Loss:F3} lr {p.LearningRate:G3} {p.ImagesPerSecond:F0} img/s"));
                }));
                task.Value = task.MaxValue;
            });
        return result;
    }

    /// <summary>The line printed for one report when the output is not a terminal.</summary>
    public static string PlainLine(TrainingProgress p) => string.Create(CultureInfo.InvariantCulture,
        $"  epoch {p.Epoch + 1}/{p.Epochs} batch {p.Batch}/{p.BatchesPerEpoch} loss {p.Loss:F4} lr {p.LearningRate:G4} {p.ImagesPerSecond:F0} img/s elapsed {p.Elapsed:hh\\:mm\\:ss}");
}
