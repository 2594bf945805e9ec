using Robustness.Validation;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Robustness.Data;
using Robustness.Runtime;
using Robustness.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Attacks.Evaluation;

/// <summary>
/// An AutoAttack-style robustness evaluation (Croce and Hein, 2020): clean accuracy first, then each attack in
/// turn on the points every earlier attack failed on, robust accuracy logged after each attack, a sanity line and
/// warnings at the end. A point counts as broken only when its adversarial is misclassified, lies in [0,1] and is
/// within the budget in the threat model's norm; results outside do not count, whatever the attack claims. With a
/// state file the run is resumable: a cancelled or killed run continues where it stopped and gives the same report.
/// </summary>
/// <remarks>
/// Attacks run one after another over the whole collection (not batch by batch), as in AutoAttack: each attack's
/// batches are cut from the points still robust when it starts, in index order, <see cref="AutoAttackOptions.BatchSize"/>
/// at a time. The standard list (<see cref="Standard"/>) is APGD-CE, APGD-T, FAB-T and Square with 5,000 queries.
/// </remarks>
public sealed class AutoAttackEvaluator
{
    private readonly ILogger _logger;

    /// <summary>An evaluator running <paramref name="attacks"/> in the given order under <paramref name="options"/>.</summary>
    /// <exception cref="ArgumentException">The list is empty, holds null, or an attack works in another norm than the threat model's.</exception>
    public AutoAttackEvaluator(IEnumerable<IAttack> attacks, AutoAttackOptions? options = null, ILogger<AutoAttackEvaluator>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(attacks);
        Options = (options ?? new AutoAttackOptions()).Validate();
        Attacks = attacks.ToArray();
        if (Attacks.Count == 0) throw new ArgumentException("At least one attack is needed.", nameof(attacks));
        for (int i = 0; i < Attacks.Count; i++)
        {
            var attack = Attacks[i] ?? throw new ArgumentException($"Attack {i} is null.", nameof(attacks));
            if (attack.Norm != Options.Norm)
                throw new ArgumentException($"Attack {i} ({attack}) works in {attack.Norm.Name()}, the threat model in {Options.Norm.Name()}.", nameof(attacks));
        }
        _logger = logger ?? NullLogger<AutoAttackEvaluator>.Instance;
    }

    /// <summary>The catalogue names of the standard attacks, in order.</summary>
    public static IReadOnlyList<string> StandardAttackNames { get; } = ["apgd-ce", "apgd-t", "fab-t", "square"];

    /// <summary>Square's query budget in the standard evaluation.</summary>
    public const int StandardSquareQueries = 5000;

    /// <summary>
    /// The standard AutoAttack: APGD-CE, APGD-T, FAB-T and Square (5,000 queries), each built by
    /// <paramref name="resolve"/>(catalogue name, settings) with the norm, budget and seed given here and every other
    /// knob left at the attack's own (the paper's) default.
    /// </summary>
    public static AutoAttackEvaluator Standard(Func<string, AttackSettings, IAttack> resolve, Norm norm, double epsilon, int seed = 0,
        AutoAttackOptions? options = null, ILogger<AutoAttackEvaluator>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(resolve);
        Budget.Check(epsilon, nameof(epsilon));
        Require.AtLeast(seed, 0, nameof(seed));
        var settings = new AttackSettings { Norm = norm, Epsilon = epsilon, Seed = seed };
        var attacks = StandardAttackNames
            .Select(name => resolve(name, name == "square" ? settings with { Queries = StandardSquareQueries } : settings)
                ?? throw new InvalidOperationException($"resolve returned no attack for '{name}'."))
            .ToArray();
        var o = (options ?? new AutoAttackOptions()) with { Norm = norm, Epsilon = epsilon, Seed = seed };
        return new AutoAttackEvaluator(attacks, o, logger);
    }

    /// <summary>The attacks, in the order they run.</summary>
    public IReadOnlyList<IAttack> Attacks { get; }

    /// <summary>The validated options.</summary>
    public AutoAttackOptions Options { get; }

    /// <summary>
    /// Evaluates <paramref name="classifier"/> on <paramref name="data"/> (read in batches onto the classifier's
    /// device; the model runs in eval mode and its mode is restored). Cancellation is honoured between batches and
    /// inside attacks with <see cref="OperationCanceledException"/>; with a state file, the next call continues.
    /// </summary>
    /// <exception cref="InvalidOperationException">The state file was written for other settings, model or data.</exception>
    /// <exception cref="InvalidDataException">The state file is unreadable.</exception>
    public AutoAttackReport Evaluate(Classifier classifier, IImageCollection data, IProgress<EvaluationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(data);
        Evaluator.CheckCompatible(classifier, data, nameof(data));
        var o = Options;
        var state = AutoAttackState.LoadOrStart(o.StatePath, AutoAttackStateSettings.Of(o, Attacks, classifier, data));
        var wall = Stopwatch.StartNew();
        torch.random.manual_seed(o.Seed);
        using var mode = classifier.EvalMode();

        if (state.Stage > 0)
            _logger.LogInformation("AutoAttack resumes from '{StatePath}' at stage {Stage} of {Stages}, batch {Batch}.",
                o.StatePath, state.Stage, Attacks.Count + 1, state.NextBatch);
        else
            _logger.LogInformation("AutoAttack ({Norm}, eps {Epsilon}) on {Images} images with {Attacks}, batch {BatchSize}, seed {Seed}.",
                o.Norm.Name(), Budget.Format(o.Epsilon), data.Count, string.Join(", ", Attacks.Select(a => a.Name)), o.BatchSize, o.Seed);

        if (state.Stage == 0) RunClean(classifier, data, state, progress, wall, cancellationToken);
        while (state.Stage <= Attacks.Count)
            RunAttack(state.Stage - 1, classifier, data, state, progress, wall, cancellationToken);

        var report = BuildReport(state, data.Count);
        _logger.LogInformation("Sanity: max {Norm} perturbation {MaxNorm:G6}, NaN values {NanValues}, output range [{Min}, {Max}]. Robust accuracy {RobustAccuracy}.",
            o.Norm.Name(), report.Sanity.MaxPerturbationNorm, report.Sanity.NanValues, report.Sanity.MinValue, report.Sanity.MaxValue,
            AutoAttackReport.Percent(report.RobustAccuracy));
        foreach (var warning in report.Warnings) _logger.LogWarning("{Warning}", warning);
        return report;
    }

    // Clean predictions and the zero-gradient check, batch by batch over the whole collection.
    private void RunClean(Classifier classifier, IImageCollection data, AutoAttackState state, IProgress<EvaluationProgress>? progress,
        Stopwatch wall, CancellationToken cancellationToken)
    {
        var batches = ImageBatches.Plan(data.Count, Options.BatchSize).ToArray();
        for (int b = state.NextBatch; b < batches.Length; b++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var clock = Stopwatch.StartNew();
            using (var scope = torch.NewDisposeScope())
            {
                using var batch = ImageBatches.Read(data, batches[b], classifier.Device);
                var (_, gradient, logits) = AttackMath.LossAndGradient(classifier, batch.Images, l => AttackMath.CrossEntropy(l, batch.Labels));
                var correct = logits.argmax(1).eq(batch.Labels).cpu().data<bool>().ToArray();
                state.ZeroGradientPoints += (int)gradient.flatten(1).abs().amax(1).eq(Scalars.Zero).sum().item<long>();
                for (int i = 0; i < batch.Count; i++)
                    state.Status[batch.Indices[i]] = correct[i] ? AutoAttackState.Robust : AutoAttackState.Misclassified;
            }
            state.CleanSeconds += clock.Elapsed.TotalSeconds;
            state.NextBatch = b + 1;
            state.Save(Options.StatePath);
            progress?.Report(new EvaluationProgress("clean", 0, Attacks.Count + 1, b + 1, batches.Length, (double)state.RobustCount / data.Count, wall.Elapsed));
        }
        state.Stage = 1;
        state.NextBatch = 0;
        state.Save(Options.StatePath);
        _logger.LogInformation("Clean accuracy: {CleanAccuracy} ({Correct}/{Images}).",
            AutoAttackReport.Percent((double)state.RobustCount / data.Count), state.RobustCount, data.Count);
    }

    private void RunAttack(int k, Classifier classifier, IImageCollection data, AutoAttackState state, IProgress<EvaluationProgress>? progress,
        Stopwatch wall, CancellationToken cancellationToken)
    {
        var attack = Attacks[k];
        var points = state.PointsFor(k);
        var batches = ImageBatches.Plan(points.Length, Options.BatchSize).Select(chunk => chunk.Select(i => points[i]).ToArray()).ToArray();
        for (int b = state.NextBatch; b < batches.Length; b++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var clock = Stopwatch.StartNew();
            AdversarialVerdict verdict;
            int[] indices = batches[b];
            using (var scope = torch.NewDisposeScope())
            {
                using var batch = ImageBatches.Read(data, indices, classifier.Device);
                var adversarial = attack.Run(classifier, batch.Images, batch.Labels, cancellationToken);
                verdict = AdversarialVerdict.Judge(classifier, batch.Images, adversarial, batch.Labels, Options.Norm, Options.Epsilon, Options.Tolerance);
            }
            for (int i = 0; i < indices.Length; i++)
            {
                if (verdict.Broken(i))
                {
                    state.Status[indices[i]] = k;
                    state.Broken[k]++;
                }
                else if (verdict.Misclassified[i])
                {
                    state.Rejected[k]++;
                }
                if (!double.IsNaN(verdict.Norms[i])) state.MaxPerturbationNorm = Math.Max(state.MaxPerturbationNorm, verdict.Norms[i]);
            }
            state.Attacked[k] += indices.Length;
            state.NanValues += verdict.NanValues;
            if (verdict.Min is double min) state.MinValue = Math.Min(state.MinValue ?? min, min);
            if (verdict.Max is double max) state.MaxValue = Math.Max(state.MaxValue ?? max, max);
            state.Seconds[k] += clock.Elapsed.TotalSeconds;
            state.NextBatch = b + 1;
            state.Save(Options.StatePath);
            progress?.Report(new EvaluationProgress(attack.Name, k + 1, Attacks.Count + 1, b + 1, batches.Length, (double)state.RobustCount / data.Count, wall.Elapsed));
        }
        state.Stage = k + 2;
        state.NextBatch = 0;
        state.Save(Options.StatePath);
        _logger.LogInformation("After {Attack}: robust accuracy {RobustAccuracy} ({Robust}/{Images}); broke {Broken} of {Attacked} points in {Seconds:F1} s.",
            attack.Name, AutoAttackReport.Percent((double)state.RobustAfter(k) / data.Count), state.RobustAfter(k), data.Count,
            state.Broken[k], state.Attacked[k], state.Seconds[k]);
    }

    private AutoAttackReport BuildReport(AutoAttackState state, int images)
    {
        var c = CultureInfo.InvariantCulture;
        var o = Options;
        var steps = Attacks.Select((a, k) => new AutoAttackStep(a.Name, a.ToString() ?? a.Name, a.IsBlackBox, state.Attacked[k], state.Broken[k],
            state.Rejected[k], images == 0 ? 0 : (double)state.RobustAfter(k) / images, state.Seconds[k])).ToArray();

        var warnings = new List<string>();
        double zeroFraction = images == 0 ? 0 : (double)state.ZeroGradientPoints / images;
        if (state.ZeroGradientPoints > 0 && zeroFraction > o.ZeroGradientWarningFraction)
            warnings.Add(string.Create(c, $"{state.ZeroGradientPoints} of {images} images ({AutoAttackReport.Percent(zeroFraction)}) have an input gradient of exactly zero: gradient-based attacks cannot move them, so the robust accuracy may be overestimated (gradient masking)."));
        for (int k = 0; k < steps.Length; k++)
        {
            var step = steps[k];
            bool whiteBoxBefore = steps.Take(k).Any(s => !s.IsBlackBox);
            if (step.IsBlackBox && whiteBoxBefore && step.Attacked > 0 && (double)step.Broken / step.Attacked > o.BlackBoxWarningFraction)
                warnings.Add(string.Create(c, $"Black-box attack {step.Attack} broke {step.Broken} of the {step.Attacked} points every white-box attack before it failed on ({AutoAttackReport.Percent((double)step.Broken / step.Attacked)}): the gradients may be masked or obfuscated; trust the black-box result."));
            if (step.Rejected > 0)
                warnings.Add(string.Create(c, $"{step.Attack} returned {step.Rejected} misclassified images outside the threat model (beyond eps {Budget.Format(o.Epsilon)} in {o.Norm.Name()}, outside [0,1] or with NaNs); they were not counted as broken."));
        }
        if (state.NanValues > 0)
            warnings.Add(string.Create(c, $"The attacks returned {state.NanValues} NaN values."));

        return new AutoAttackReport
        {
            Norm = o.Norm,
            Epsilon = o.Epsilon,
            Seed = o.Seed,
            Images = images,
            CleanCorrect = state.Status.Count(s => s != AutoAttackState.Misclassified && s != AutoAttackState.Pending),
            RobustCorrect = state.RobustCount,
            ZeroGradientFraction = zeroFraction,
            Attacks = steps,
            Sanity = new AutoAttackSanity(state.MaxPerturbationNorm, state.NanValues, state.MinValue, state.MaxValue),
            Warnings = warnings,
            CleanSeconds = state.CleanSeconds,
        };
    }
}
