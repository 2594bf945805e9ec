using System.Globalization;
using Robustness.Attacks.Evaluation;
using Spectre.Console;

namespace Robustness.Cli.Output;

/// <summary>
/// Shows the progress of an attack or an AutoAttack-style evaluation: a live bar with the stage, the batch and the
/// robust accuracy so far on a terminal; one plain line per report otherwise (logs, CI, pipes).
/// </summary>
public sealed class AttackProgressDisplay(TextWriter output)
{
    /// <summary>True when the output is an interactive terminal (then a bar is drawn).</summary>
    public bool Interactive { get; } = Terminal.IsInteractive(output);

    /// <summary>Runs <paramref name="work"/> with a progress sink that draws <paramref name="title"/>.</summary>
    public T Run<T>(string title, Func<IProgress<EvaluationProgress>, T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (!Interactive) return work(new SyncProgress<EvaluationProgress>(p => output.WriteLine(PlainLine(p))));

        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(title), maxValue: 1);
                result = work(new SyncProgress<EvaluationProgress>(p =>
                {
                    task.Value = Fraction(p);
                    task.Description = Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                        $"{title}: {p.Stage} batch {p.Batch}/{p.Batches}{(p.RobustAccuracy is double r ? $" robust {r:P1}" : "")}"));
                }));
                task.Value = task.MaxValue;
            });
        return result;
    }

    /// <summary>The share of the whole run done at <paramref name="p"/>, in [0, 1].</summary>
    public static double Fraction(EvaluationProgress p)
    {
        ArgumentNullException.ThrowIfNull(p);
        double withinStage = p.Batches > 0 ? (double)p.Batch / p.Batches : 1;
        return Math.Clamp((p.StageIndex + withinStage) / Math.Max(1, p.Stages), 0, 1);
    }

    /// <summary>The line printed for one report when the output is not a terminal.</summary>
    public static string PlainLine(EvaluationProgress p)
    {
        ArgumentNullException.ThrowIfNull(p);
        return string.Create(CultureInfo.InvariantCulture,
            $"  {p.Stage}: batch {p.Batch}/{p.Batches}{(p.RobustAccuracy is double r ? $", robust accuracy {r:P2}" : "")}, elapsed {p.Elapsed:hh\\:mm\\:ss}");
    }
}
