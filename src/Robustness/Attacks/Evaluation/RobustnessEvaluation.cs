using Robustness.Validation;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Robustness.Data;
using Robustness.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Attacks.Evaluation;

/// <summary>
/// Robust accuracy of a classifier under several attacks and budgets in one pass over a collection (foolbox's
/// "several epsilons in one call"): each batch is read and classified once, then every attack runs on the images
/// the model gets right. An image counts as broken only when its adversarial is misclassified, in [0,1] and within
/// the attack's budget (plus 1e-6) in the attack's norm.
/// </summary>
public sealed class RobustnessEvaluation
{
    /// <summary>Slack on the budget when checking a result (float32 rounding): <see cref="Budget.Tolerance"/>.</summary>
    public const double Tolerance = Budget.Tolerance;

    private readonly ILogger _logger;

    /// <summary>An evaluation reading <paramref name="batchSize"/> images at a time.</summary>
    public RobustnessEvaluation(int batchSize = 256, ILogger<RobustnessEvaluation>? logger = null)
    {
        Require.BatchSize(batchSize, nameof(batchSize));
        BatchSize = batchSize;
        _logger = logger ?? NullLogger<RobustnessEvaluation>.Instance;
    }

    /// <summary>Images per batch.</summary>
    public int BatchSize { get; }

    /// <summary>
    /// One attack per definition and budget: <paramref name="settings"/> with each of <paramref name="epsilons"/>
    /// (definition-major order: every budget of the first definition, then the next).
    /// </summary>
    public static IReadOnlyList<IAttack> Build(IEnumerable<AttackDefinition> definitions, AttackSettings settings, IEnumerable<double> epsilons)
    {
        ArgumentNullException.ThrowIfNull(definitions);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(epsilons);
        var budgets = epsilons.Select(e => Budget.Check(e, nameof(epsilons))).ToArray();
        if (budgets.Length == 0) throw new ArgumentException("At least one budget is needed.", nameof(epsilons));
        return definitions.SelectMany(d => budgets.Select(eps => (d ?? throw new ArgumentException("A definition is null.", nameof(definitions)))
            .Build(settings with { Epsilon = eps }))).ToArray();
    }

    /// <summary>Robust accuracy under each of <paramref name="definitions"/> at each of <paramref name="epsilons"/>.</summary>
    public RobustAccuracyReport Evaluate(Classifier classifier, IImageCollection data, IEnumerable<AttackDefinition> definitions,
        AttackSettings settings, IEnumerable<double> epsilons, IProgress<EvaluationProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Evaluate(classifier, data, Build(definitions, settings, epsilons), progress, cancellationToken);

    /// <summary>
    /// Robust accuracy under each of <paramref name="attacks"/> (each with its own norm and budget). The model runs in
    /// eval mode on its device; its mode is restored. Cancellation is honoured between batches and inside attacks.
    /// <paramref name="adversarials"/>, when given, receives every batch's adversarial images under each attack (the
    /// clean image where the model was already wrong, as AutoAttack returns them), to save or inspect; the tensor lives
    /// only for the call.
    /// </summary>
    public RobustAccuracyReport Evaluate(Classifier classifier, IImageCollection data, IEnumerable<IAttack> attacks,
        IProgress<EvaluationProgress>? progress = null, CancellationToken cancellationToken = default, Action<AdversarialBatch>? adversarials = null)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(attacks);
        var list = attacks.ToArray();
        if (list.Length == 0) throw new ArgumentException("At least one attack is needed.", nameof(attacks));
        if (list.Any(a => a is null)) throw new ArgumentException("An attack is null.", nameof(attacks));
        Evaluator.CheckCompatible(classifier, data, nameof(data));
        _logger.LogInformation("Robust accuracy on {Images} images under {Attacks}.", data.Count, string.Join(", ", list.Select(a => a.ToString())));

        var tallies = list.Select(_ => new Tally()).ToArray();
        int cleanCorrect = 0;
        double cleanSeconds = 0;
        var wall = Stopwatch.StartNew();
        using var mode = classifier.EvalMode();
        var batches = ImageBatches.Plan(data.Count, BatchSize).ToArray();
        for (int b = 0; b < batches.Length; b++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = torch.NewDisposeScope();
            var clock = Stopwatch.StartNew();
            using var batch = ImageBatches.Read(data, batches[b], classifier.Device);
            var correct = classifier.Predict(batch.Images).eq(batch.Labels).nonzero().squeeze(1);
            int n = (int)correct.shape[0];
            cleanCorrect += n;
            cleanSeconds += clock.Elapsed.TotalSeconds;
            if (n == 0)
            {
                for (int k = 0; k < list.Length && adversarials is not null; k++) adversarials(new AdversarialBatch(k, list[k], batches[b], batch.Images));
                progress?.Report(new EvaluationProgress("attacks", 0, 1, b + 1, batches.Length, null, wall.Elapsed));
                continue;
            }
            // Only images the model gets right are attacked: the others count as not robust anyway.
            var images = batch.Images.index_select(0, correct);
            var labels = batch.Labels.index_select(0, correct);
            for (int k = 0; k < list.Length; k++)
            {
                using var attackScope = torch.NewDisposeScope();
                clock.Restart();
                var adversarial = list[k].Run(classifier, images, labels, cancellationToken);
                var verdict = AdversarialVerdict.Judge(classifier, images, adversarial, labels, list[k].Norm, list[k].Epsilon, Tolerance);
                tallies[k].Add(verdict, clock.Elapsed.TotalSeconds);
                if (adversarials is not null)
                {
                    var all = batch.Images.clone().index_copy_(0, correct, adversarial);
                    adversarials(new AdversarialBatch(k, list[k], batches[b], all));
                }
            }
            progress?.Report(new EvaluationProgress("attacks", 0, 1, b + 1, batches.Length, null, wall.Elapsed));
        }

        var entries = list.Select((a, k) => tallies[k].Entry(a, cleanCorrect, data.Count)).ToArray();
        foreach (var e in entries)
            _logger.LogInformation("{Attack}: robust accuracy {RobustAccuracy}, success rate {SuccessRate}, max perturbation {MaxPerturbation:G4}, {Seconds:F1} s.",
                e.Description, AutoAttackReport.Percent(e.RobustAccuracy), AutoAttackReport.Percent(e.SuccessRate), e.MaxPerturbation, e.Seconds);
        return new RobustAccuracyReport { Images = data.Count, CleanCorrect = cleanCorrect, Entries = entries, CleanSeconds = cleanSeconds };
    }

    // Running counts of one attack over the batches.
    private sealed class Tally
    {
        private int _attacked, _broken, _measured;
        private double _normSum, _normMax, _seconds;

        public void Add(AdversarialVerdict verdict, double seconds)
        {
            for (int i = 0; i < verdict.Norms.Length; i++)
            {
                if (verdict.Broken(i)) _broken++;
                double norm = verdict.Norms[i];
                if (double.IsNaN(norm)) continue;
                _measured++;
                _normSum += norm;
                _normMax = Math.Max(_normMax, norm);
            }
            _attacked += verdict.Norms.Length;
            _seconds += seconds;
        }

        public RobustAccuracyEntry Entry(IAttack attack, int cleanCorrect, int images) => new(
            attack.Name, attack.ToString() ?? attack.Name, attack.Norm, attack.Epsilon, _attacked, _broken,
            images == 0 ? 0 : (double)(cleanCorrect - _broken) / images,
            _attacked == 0 ? 0 : (double)_broken / _attacked,
            _measured == 0 ? 0 : _normSum / _measured,
            _normMax,
            _seconds);
    }
}

/// <summary>The adversarial images of one batch under one attack of a <see cref="RobustnessEvaluation"/>.</summary>
/// <param name="AttackIndex">The attack's position in the evaluation's list.</param>
/// <param name="Attack">The attack.</param>
/// <param name="Indices">The batch's positions in the evaluated collection.</param>
/// <param name="Images">float32 [N, C, H, W]: the adversarial of each correctly classified image, the clean image for the others.</param>
public sealed record AdversarialBatch(int AttackIndex, IAttack Attack, int[] Indices, Tensor Images);
