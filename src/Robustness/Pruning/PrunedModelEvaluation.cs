using System.Diagnostics;
using System.Globalization;
using Robustness.Attacks;
using Robustness.Attacks.Evaluation;
using Robustness.Data;
using Robustness.Hosting;
using Robustness.Training;
using Robustness.Validation;

namespace Robustness.Pruning;

/// <summary>Clean and robust accuracy of one model, as the prune report, the pruning demo and the PwoA table show them.</summary>
/// <param name="Model">Which model: <c>teacher</c> or the pruning method's name.</param>
/// <param name="Sparsity">Overall sparsity of the pruned tensors (conv and linear weights).</param>
/// <param name="CleanAccuracy">Accuracy on every test image.</param>
/// <param name="CleanCorrect">Test images classified correctly.</param>
/// <param name="Images">Test images.</param>
/// <param name="AttackedImages">Images the robust accuracies are measured on (the first of a seeded shuffle of the test set).</param>
/// <param name="PgdAccuracy">Accuracy under PGD-10 on the attacked images.</param>
/// <param name="AutoAttackAccuracy">Accuracy under the AutoAttack-style evaluation on the attacked images, or null when skipped.</param>
/// <param name="Seconds">Wall time of the evaluation.</param>
/// <param name="Pgd">The PGD report.</param>
/// <param name="AutoAttack">The AutoAttack report, or null.</param>
public sealed record ModelScores(string Model, double Sparsity, double CleanAccuracy, long CleanCorrect, long Images, int AttackedImages,
    double PgdAccuracy, double? AutoAttackAccuracy, double Seconds, RobustAccuracyReport Pgd, AutoAttackReport? AutoAttack);

/// <summary>What a <see cref="PrunedModelEvaluation"/> is doing: the model's label, the stage (clean, pgd-10, autoattack) and the attack's own progress.</summary>
/// <param name="Model">The label of the model evaluated.</param>
/// <param name="Stage"><c>pgd-10</c> or <c>autoattack</c>.</param>
/// <param name="Progress">The evaluation's progress report.</param>
public sealed record PrunedModelProgress(string Model, string Stage, EvaluationProgress Progress);

/// <summary>
/// The protocol of PwoA's comparison, measuring a teacher and its pruned students the same way: clean accuracy on
/// the whole test set, then PGD-10 (l-inf, step eps/4 = 2/255 at 8/255 unless given, random start) and optionally
/// the standard AutoAttack-style evaluation (resumable through a state file) on at most <see cref="AttackImages"/>
/// test images, the same images for every model. The tool's <c>prune</c> report, its demo and the benchmarks'
/// PwoA table all use it.
/// </summary>
public sealed class PrunedModelEvaluation
{
    /// <summary>
    /// The evaluation at <paramref name="epsilon"/> (l-inf); AutoAttack's attacks come from <paramref name="catalog"/>;
    /// <paramref name="pgdStepSize"/> null = eps / 4.
    /// </summary>
    public PrunedModelEvaluation(double epsilon, int attackImages, bool autoAttack, int seed, int batchSize = 256, ITechniqueCatalog? catalog = null,
        double? pgdStepSize = null)
    {
        if (autoAttack && catalog is null)
            throw new ArgumentNullException(nameof(catalog), "AutoAttack builds its attacks from the technique catalogue; pass one.");
        _catalog = catalog;
        Epsilon = Budget.Check(epsilon, nameof(epsilon));
        PgdStepSize = pgdStepSize is double step ? Require.Positive(step, nameof(pgdStepSize)) : Epsilon / 4;
        Require.AtLeast(attackImages, 1, nameof(attackImages));
        Require.BatchSize(batchSize, nameof(batchSize));
        AttackImages = attackImages;
        AutoAttack = autoAttack;
        Seed = seed;
        BatchSize = batchSize;
    }

    private readonly ITechniqueCatalog? _catalog;

    /// <summary>The l-inf budget.</summary>
    public double Epsilon { get; }

    /// <summary>The cap on the images attacked.</summary>
    public int AttackImages { get; }

    /// <summary>Whether the AutoAttack-style evaluation runs.</summary>
    public bool AutoAttack { get; }

    /// <summary>Seed of the attacks and of the choice of attacked images.</summary>
    public int Seed { get; }

    /// <summary>Images per batch.</summary>
    public int BatchSize { get; }

    /// <summary>PGD's step size.</summary>
    public double PgdStepSize { get; }

    /// <summary>The PGD-10 attack used.</summary>
    public IAttack Pgd => new Pgd(new PgdOptions { Epsilon = Epsilon, Steps = 10, StepSize = PgdStepSize, Seed = Seed });

    /// <summary>The test images attacked: the first <see cref="AttackImages"/> of a seeded shuffle (all of them when fewer).</summary>
    public ImageSet AttackSubset(ImageSet test)
    {
        ArgumentNullException.ThrowIfNull(test);
        if (test.Count <= AttackImages) return test;
        var order = Enumerable.Range(0, test.Count).ToArray();
        new Random(Seed).Shuffle(order);
        return test.Subset(order.Take(AttackImages).Order().ToArray());
    }

    /// <summary>
    /// Evaluates <paramref name="classifier"/> (labelled <paramref name="label"/>): clean accuracy on <paramref name="test"/>,
    /// the attacks on <paramref name="attacked"/> (e.g. <see cref="AttackSubset"/>). <paramref name="autoAttackState"/> is
    /// the AutoAttack state file that lets an interrupted evaluation resume (none by default).
    /// </summary>
    public ModelScores Evaluate(string label, Classifier classifier, double sparsity, ImageSet test, ImageSet attacked,
        IProgress<PrunedModelProgress>? progress = null, string? autoAttackState = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(label);
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(test);
        ArgumentNullException.ThrowIfNull(attacked);
        var clock = Stopwatch.StartNew();
        var clean = new Evaluator(BatchSize).Evaluate(classifier, test, cancellationToken);
        var pgd = new RobustnessEvaluation(BatchSize).Evaluate(classifier, attacked, [Pgd], Stage(progress, label, "pgd-10"), cancellationToken);
        AutoAttackReport? auto = null;
        if (AutoAttack)
        {
            var evaluator = _catalog!.StandardAutoAttack(Norm.Linf, Epsilon, Seed, new AutoAttackOptions { BatchSize = BatchSize, StatePath = autoAttackState });
            auto = evaluator.Evaluate(classifier, attacked, Stage(progress, label, "autoattack"), cancellationToken);
        }
        return new ModelScores(label, sparsity, clean.Accuracy, clean.Correct, clean.Total, attacked.Count, pgd.Entries[0].RobustAccuracy,
            auto?.RobustAccuracy, clock.Elapsed.TotalSeconds, pgd, auto);
    }

    private static IProgress<EvaluationProgress>? Stage(IProgress<PrunedModelProgress>? progress, string label, string stage) =>
        progress is null ? null : new StageProgress(progress, label, stage);

    /// <summary>A plain table of models: sparsity, clean, PGD-10 and (when measured) AutoAttack accuracy.</summary>
    public static string Table(IReadOnlyList<ModelScores> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var c = CultureInfo.InvariantCulture;
        bool auto = rows.Any(r => r.AutoAttackAccuracy is not null);
        int width = Math.Max(7, rows.Max(r => r.Model.Length));
        var text = new System.Text.StringBuilder();
        text.AppendLine(c, $"| {"model".PadRight(width)} | sparsity | clean acc | PGD-10 acc |{(auto ? " AutoAttack acc |" : "")}");
        text.AppendLine(c, $"|{new string('-', width + 2)}|---------:|----------:|-----------:|{(auto ? "---------------:|" : "")}");
        foreach (var r in rows)
            text.AppendLine(c, $"| {r.Model.PadRight(width)} | {r.Sparsity,8:P2} | {r.CleanAccuracy,9:P2} | {r.PgdAccuracy,10:P2} |{(auto ? $" {(r.AutoAttackAccuracy is double a ? a.ToString("P2", c) : "-"),14} |" : "")}");
        return text.ToString();
    }

    // Reports synchronously, on the evaluating thread, like the evaluations it wraps.
    private sealed class StageProgress(IProgress<PrunedModelProgress> progress, string label, string stage) : IProgress<EvaluationProgress>
    {
        public void Report(EvaluationProgress value) => progress.Report(new PrunedModelProgress(label, stage, value));
    }
}
