namespace Robustness.Attacks.Evaluation;

/// <summary>
/// A progress report of a robustness evaluation (<see cref="AutoAttackEvaluator"/>, <see cref="RobustnessEvaluation"/>),
/// sent after every batch.
/// </summary>
/// <param name="Stage">What runs now: <c>clean</c>, or the attack's name.</param>
/// <param name="StageIndex">0-based index of the stage.</param>
/// <param name="Stages">Number of stages.</param>
/// <param name="Batch">Batches done in this stage (1 to <paramref name="Batches"/>).</param>
/// <param name="Batches">Batches in this stage.</param>
/// <param name="RobustAccuracy">Robust accuracy over the whole collection so far, when the evaluation knows one.</param>
/// <param name="Elapsed">Time since this call started (a resumed run counts from its own start).</param>
public sealed record EvaluationProgress(
    string Stage,
    int StageIndex,
    int Stages,
    int Batch,
    int Batches,
    double? RobustAccuracy,
    TimeSpan Elapsed);
