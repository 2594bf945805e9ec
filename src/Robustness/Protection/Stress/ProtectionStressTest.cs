using System.Globalization;
using System.Text;
using System.Text.Json;
using Robustness.Data;
using Robustness.Training;

namespace Robustness.Protection.Stress;

/// <summary>One victim of a stress test: trained on <see cref="Set"/> after <see cref="Pipeline"/>, and its clean test accuracy.</summary>
/// <param name="Pipeline">The trainer pipeline's name.</param>
/// <param name="Set">The training set's name (<c>clean</c>, or the protection method).</param>
/// <param name="Accuracy">Clean test accuracy (share of the test images, after the pipeline when it applies to tests).</param>
/// <param name="FinalTrainLoss">The victim's mean training loss in its last epoch.</param>
/// <param name="WallSeconds">Seconds to prepare the images, train and test.</param>
public sealed record StressCell(string Pipeline, string Set, double Accuracy, double FinalTrainLoss, double WallSeconds);

/// <summary>Progress of a stress test: which victim of how many is training, and its own progress.</summary>
public sealed record StressProgress(string Pipeline, string Set, int Victim, int Victims, TrainingProgress Training);

/// <summary>
/// The protection stress test (issue 12, part 2): for every trainer pipeline and every training set (the clean set
/// and one protected set per method), a fresh victim with the same recipe and seed is trained after the pipeline and
/// tested on clean test images. A protection survives a pipeline when its victim stays far below the clean victim of
/// the same pipeline. Victims already measured (<c>done</c>) are not trained again, so a long run resumes.
/// </summary>
public sealed class ProtectionStressTest
{
    private readonly VictimRecipe _recipe;
    private readonly IReadOnlyList<TrainerPipeline> _pipelines;

    /// <summary>Creates the test over <paramref name="pipelines"/> (at least one, distinct names) with victims of <paramref name="recipe"/>.</summary>
    public ProtectionStressTest(VictimRecipe recipe, IReadOnlyList<TrainerPipeline> pipelines)
    {
        ArgumentNullException.ThrowIfNull(recipe);
        ArgumentNullException.ThrowIfNull(pipelines);
        if (pipelines.Count == 0) throw new ArgumentException("At least one trainer pipeline is needed.", nameof(pipelines));
        if (pipelines.Select(p => p.Name).Distinct(StringComparer.Ordinal).Count() != pipelines.Count)
            throw new ArgumentException("Trainer pipeline names must be distinct.", nameof(pipelines));
        _recipe = recipe.Validate();
        _pipelines = pipelines;
    }

    /// <summary>
    /// Trains and tests every victim not in <paramref name="done"/>, calling <paramref name="finished"/> after each (to
    /// store it), and returns the whole table. <paramref name="sets"/> are the training sets by name (distinct names,
    /// all of one size and the test set's classes).
    /// </summary>
    public StressTestReport Run(IReadOnlyList<(string Name, ImageSet Train)> sets, ImageSet test, IReadOnlyList<StressCell>? done = null,
        Action<StressCell>? finished = null, IProgress<StressProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sets);
        ArgumentNullException.ThrowIfNull(test);
        if (sets.Count == 0) throw new ArgumentException("At least one training set is needed.", nameof(sets));
        if (sets.Select(s => s.Name).Distinct(StringComparer.Ordinal).Count() != sets.Count)
            throw new ArgumentException("Training set names must be distinct.", nameof(sets));
        foreach (var (name, train) in sets)
            if (train.Channels != test.Channels || train.Height != test.Height || train.Width != test.Width || !train.ClassNames.SequenceEqual(test.ClassNames, StringComparer.Ordinal))
                throw new ArgumentException(
                    $"Training set '{name}' ({train.Channels}x{train.Height}x{train.Width}, {train.ClassNames.Count} classes) does not match the test set " +
                    $"({test.Channels}x{test.Height}x{test.Width}, {test.ClassNames.Count} classes).", nameof(sets));

        var cells = (done ?? []).Where(c => _pipelines.Any(p => p.Name == c.Pipeline) && sets.Any(s => s.Name == c.Set)).ToList();
        int total = _pipelines.Count * sets.Count, victim = cells.Count;
        foreach (var pipeline in _pipelines)
        {
            if (sets.All(s => cells.Any(c => c.Pipeline == pipeline.Name && c.Set == s.Name))) continue;
            var evaluation = new ProtectionEvaluation(pipeline.VictimRecipe(_recipe));
            var pipelineTest = pipeline.PrepareTest(test);
            foreach (var (name, train) in sets)
            {
                if (cells.Any(c => c.Pipeline == pipeline.Name && c.Set == name)) continue;
                cancellationToken.ThrowIfCancellationRequested();
                victim++;
                var watch = System.Diagnostics.Stopwatch.StartNew();
                var prepared = pipeline.PrepareTraining(train);
                int number = victim;
                var result = evaluation.TrainVictimAndTest(prepared, pipelineTest,
                    progress is null ? null : new SyncProgress<TrainingProgress>(t => progress.Report(new StressProgress(pipeline.Name, name, number, total, t))),
                    cancellationToken);
                var cell = new StressCell(pipeline.Name, name, result.TestAccuracy, result.FinalTrainLoss, watch.Elapsed.TotalSeconds);
                cells.Add(cell);
                finished?.Invoke(cell);
            }
        }
        return new StressTestReport(_recipe.Summary(), _pipelines.Select(p => (p.Name, p.Description)).ToArray(), sets.Select(s => s.Name).ToArray(), cells);
    }
}

/// <summary>The table of a <see cref="ProtectionStressTest"/>: victim accuracy per trainer pipeline (rows) and training set (columns).</summary>
/// <param name="Recipe">The victims' recipe, one line.</param>
/// <param name="Pipelines">The pipelines' names and descriptions, in row order.</param>
/// <param name="Sets">The training sets' names, in column order (the clean set first, by convention).</param>
/// <param name="Cells">Every victim measured.</param>
public sealed record StressTestReport(string Recipe, IReadOnlyList<(string Name, string Description)> Pipelines, IReadOnlyList<string> Sets, IReadOnlyList<StressCell> Cells)
{
    /// <summary>The cell of <paramref name="pipeline"/> and <paramref name="set"/>, or null when it was not measured.</summary>
    public StressCell? Cell(string pipeline, string set) => Cells.FirstOrDefault(c => c.Pipeline == pipeline && c.Set == set);

    /// <summary>
    /// A Markdown table: one row per pipeline, one column per set with the victim's test accuracy in percent and, for
    /// the sets after the first, the drop from the first set's victim under the same pipeline.
    /// </summary>
    public string ToMarkdown()
    {
        var c = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.Append("| trainer pipeline |");
        foreach (string set in Sets) md.Append(c, $" {set} |");
        md.AppendLine().Append("|---|");
        foreach (string _ in Sets) md.Append("---:|");
        md.AppendLine();
        foreach (var (name, description) in Pipelines)
        {
            md.Append(c, $"| {description} |");
            var baseline = Cell(name, Sets[0]);
            for (int s = 0; s < Sets.Count; s++)
            {
                var cell = Cell(name, Sets[s]);
                if (cell is null) md.Append(" - |");
                else if (s == 0 || baseline is null) md.Append(c, $" {100 * cell.Accuracy:F1} |");
                else md.Append(c, $" {100 * cell.Accuracy:F1} ({100 * (cell.Accuracy - baseline.Accuracy):+0.0;-0.0;0.0}) |");
            }
            md.AppendLine();
        }
        return md.ToString();
    }

    /// <summary>The cells as indented JSON (camelCase).</summary>
    public string ToJson() => JsonSerializer.Serialize(new { Recipe, Pipelines = Pipelines.Select(p => new { p.Name, p.Description }), Sets, Cells },
        new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true });
}
