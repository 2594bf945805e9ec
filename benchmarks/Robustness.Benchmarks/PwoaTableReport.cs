using System.Globalization;
using System.Text;
using Robustness.Pruning;

namespace Robustness.Benchmarks;

/// <summary>
/// The Markdown page of a PwoA table run, rewritten after every stage: the setting (teacher, data, epochs per phase,
/// evaluation), the accuracy and wall-time table (teacher first), per-layer sparsity, and a paragraph generated from
/// the measured numbers that says, claim by claim, whether the paper's expectation holds in them, by a criterion it
/// states. Nothing is said about a row that has not been measured.
/// </summary>
public static class PwoaTableReport
{
    /// <summary>"Close to the teacher": PwoA's PGD-10 accuracy at most this many points below the teacher's.</summary>
    private const double ClosePoints = 5;

    /// <summary>"Loses most robustness": naive pruning keeps at most this share of the teacher's PGD-10 accuracy.</summary>
    private const double MostLostShare = 0.5;

    /// <summary>"A fraction of adversarial pruning's cost": adversarial pruning's epoch at least this many times PwoA's.</summary>
    private const double CostRatio = 3;

    public static void Write(string path, PwoaTableState state, PwoaTable.Invocation run)
    {
        var s = state.Settings;
        var t = state.Teacher;
        var c = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine("# PwoA: pruning a PGD-AT teacher without adversarial examples (Robustness)");
        md.AppendLine();
        md.AppendLine(Inv($"Machine: {state.Machine?.Cpu}, {state.Machine?.Cores} cores, {state.Machine?.Os}, {state.Machine?.DotNet}; device {state.Device}, {state.Threads} threads;"));
        md.AppendLine(Inv($"started {state.StartedUtc}, last update {state.UpdatedUtc}. Produced by `Robustness.Benchmarks pwoa-table` (raw numbers, per-phase times and per-layer sparsity: {Path.GetFileNameWithoutExtension(path)}.json)."));
        md.AppendLine();

        // The setting.
        var pruning = new PrunerSettings
        {
            Profile = s.Profile == "fast" ? PruningProfile.Fast : PruningProfile.Paper, AdmmEpochs = s.AdmmEpochs, RetrainEpochs = s.RetrainEpochs,
        };
        var pwoa = pruning.ToPwoaOptions();
        var magnitude = pruning.ToMagnitudeOptions();
        md.AppendLine("Setting:");
        if (t is not null)
        {
            string shape = t.Architecture == "wide-resnet" ? Inv($"depth {t.Depth}, widen factor {t.WidenFactor}") : Inv($"width {(t.Width == 0 ? "standard" : t.Width.ToString(c))}");
            md.AppendLine(Inv($"- Teacher: `{s.TeacherFile}` (sha256 {s.TeacherSha256[..12]}...): {t.Architecture}, {shape}, {t.Parameters:N0} parameters, {t.ImageSize}x{t.ImageSize} inputs, {t.Classes} classes,"));
            md.AppendLine(Inv($"  normalisation inside the model mean [{string.Join(", ", t.Mean.Select(v => v.ToString("0.###", c)))}] std [{string.Join(", ", t.Std.Select(v => v.ToString("0.###", c)))}]."));
        }
        md.AppendLine($"  Recipe: {state.TeacherRecipe ?? "not recorded in the model file; pass --teacher-recipe \"...\" to state it here (it was trained with `robustness train --adversarial pgd`)"}.");
        md.AppendLine(Inv($"- Data: pruning on the {s.TrainImages:N0} clean images of `{s.TrainFolder}` (no adversarial example is made by PwoA or the naive method); test folder `{s.TestFolder}` ({s.TestImages:N0} images);"));
        md.AppendLine(s.EvalImages == 0
            ? "  every accuracy below is on the whole test folder."
            : Inv($"  every accuracy below is on a class-balanced subset of {s.EvalImages:N0} test images: the first {s.EvalImages / Math.Max(1, t?.Classes ?? 10)} of each class by ordinal file name, the same for every row."));
        md.AppendLine(Inv($"- Pruning profile `{s.Profile}`{(s.AdmmEpochs is null && s.RetrainEpochs is null ? "" : " with epoch overrides")}, unstructured, the same sparsity in every pruned tensor (every conv and linear weight; biases and BatchNorm are not pruned), seed {s.Seed}:"));
        md.AppendLine(Inv($"  - PwoA: {pwoa.AdmmEpochs} ADMM epochs (rho {pwoa.Admm.InitialRho:G3} x{pwoa.Admm.RhoGrowth:G3} every {pwoa.Admm.CycleEpochs} epochs, capped at {pwoa.Admm.MaxRho:G3}; lr {pwoa.AdmmLearningRate:G3} cycled), hard prune, {pwoa.RetrainEpochs} epochs of masked retraining"));
        md.AppendLine(Inv($"    (lr {pwoa.RetrainLearningRate:G3}, cosine to {pwoa.RetrainFinalLearningRate:G3}); self-distillation T = {pwoa.Temperature:G3}, alpha = {pwoa.DistillationAlpha:G3}; HSIC lambda_x {pwoa.LambdaX:G3}, lambda_y {pwoa.LambdaY:G3} (retraining only); SGD momentum {pwoa.Momentum:G3}, weight decay {pwoa.WeightDecay:G3}, batch {pwoa.BatchSize}; crop + flip."));
        md.AppendLine(Inv($"  - Naive (`magnitude`): one-shot magnitude prune, then {magnitude.Epochs} epochs of masked clean cross-entropy fine-tuning (lr {magnitude.LearningRate:G3}, cosine to {magnitude.FinalLearningRate:G3}, batch {magnitude.BatchSize})."));
        md.AppendLine(Inv($"  - Adversarial (`adversarial`): the same prune and schedule, fine-tuned {magnitude.Epochs} epochs on PGD-10 examples (eps 8/255, step 2/255) made during training."));
        md.AppendLine(Inv($"  - Epochs: the catalogue gives the baselines PwoA's retraining budget ({magnitude.Epochs} epochs) as their fine-tuning and no counterpart of the ADMM phase, so PwoA runs {pwoa.AdmmEpochs + pwoa.RetrainEpochs} epochs in all and the baselines {magnitude.Epochs}:"));
        md.AppendLine(pwoa.AdmmEpochs == 0
            ? "    equal epochs."
            : "    **not** equal total epochs (equal retraining epochs). The per-epoch columns compare cost like for like; 'total min' is each method's whole pruning run.");
        md.AppendLine(Inv($"- Evaluation: clean accuracy; {state.PgdAttack}; AutoAttack-style: {state.AutoAttackDescription}."));
        md.AppendLine();

        // The table.
        md.AppendLine("| sparsity | method | clean % | PGD-10 % | AutoAttack % | ADMM s/epoch | retrain s/epoch | total min |");
        md.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|");
        foreach (var r in Ordered(state, run))
        {
            string measured = r.OverallSparsity is null ? "" : Inv($" ({Percent(r.OverallSparsity)}%)");
            string sparsity = (r.Method == "teacher" ? "1x" : r.SparsityLabel) + measured;
            string auto = !s.AutoAttack ? "off" : Percent(r.AutoAttackAccuracy);
            md.AppendLine(Inv($"| {sparsity} | {r.Method} | {Percent(r.CleanAccuracy)} | {Percent(r.PgdAccuracy)} | {auto} | {Number(r.AdmmSecondsPerEpoch, "F1")} | {Number(r.RetrainSecondsPerEpoch, "F1")} | {Number(r.PruneSeconds / 60, "F1")} |"));
        }
        md.AppendLine();
        md.AppendLine("Sparsity: the measured share of zeros over the pruned tensors (target in the label). A '-' is not measured yet (or has no such phase);");
        md.AppendLine("'total min' is the pruning run's wall time (ADMM + hard prune + retraining or fine-tuning), evaluation not included (it is in the JSON).");
        md.AppendLine();

        WriteReading(md, state, run);
        WriteLayers(md, state, run);

        md.AppendLine("Rerun or resume: see benchmarks/README.md (`pwoa-table`); a killed run started again with the same settings skips finished rows");
        md.AppendLine("and evaluates a student already pruned and saved in the work folder without pruning it again.");
        AtomicWrite(path, md.ToString());
    }

    private static void WriteReading(StringBuilder md, PwoaTableState state, PwoaTable.Invocation run)
    {
        md.AppendLine("## Reading: the paper's expectation against the measured numbers");
        md.AppendLine();
        var teacher = state.Rows.FirstOrDefault(r => r.Method == "teacher" && r.Finished);
        if (teacher is null)
        {
            md.AppendLine("The teacher has not been evaluated yet; nothing to compare.");
            md.AppendLine();
            return;
        }
        int n = teacher.EvalImages ?? 0;
        double tp = teacher.PgdAccuracy ?? 0;
        double se = n > 0 ? 100 * Math.Sqrt(Math.Max(tp * (1 - tp), 0.25 / n) / n) : double.NaN;
        md.AppendLine(Inv($"The teacher: clean {Percent(teacher.CleanAccuracy)}%, PGD-10 {Percent(teacher.PgdAccuracy)}%{(teacher.AutoAttackAccuracy is double ta ? $", AutoAttack {ta * 100:F1}%" : "")} on {n} images"));
        md.AppendLine(Inv($"(one standard error of an accuracy near the teacher's PGD-10 accuracy: about {se:F1} points; smaller differences are noise)."));
        if (tp < 0.10)
            md.AppendLine("Its PGD-10 accuracy is below 10%: it has little robustness to keep or lose, so the robustness comparisons below say little.");
        md.AppendLine(Inv($"Criteria used: naive pruning 'loses most robustness' when it keeps at most {100 * MostLostShare:F0}% of the teacher's PGD-10 accuracy; PwoA keeps it 'close'"));
        md.AppendLine(Inv($"when it is at most {ClosePoints:F0} points below the teacher; PwoA is 'a fraction of adversarial pruning's cost' when an adversarial-pruning epoch takes at least {CostRatio:F0}x a PwoA epoch"));
        md.AppendLine("(the paper's arithmetic: PGD-10 fine-tuning is about 11 forward/backward passes per step, PwoA about 1 student forward/backward + 1 teacher forward + the HSIC solves).");
        md.AppendLine();

        var rows = state.Rows.Where(r => r.Finished && r.Method != "teacher").ToList();
        foreach (string label in run.Sparsities.Select(x => x.ToLowerInvariant()).Concat(rows.Select(r => r.SparsityLabel)).Distinct())
        {
            var atLabel = rows.Where(r => r.SparsityLabel == label).ToDictionary(r => r.Method);
            if (atLabel.Count == 0) continue;
            var parts = new List<string>();
            atLabel.TryGetValue("magnitude", out var naive);
            atLabel.TryGetValue("pwoa", out var pw);
            atLabel.TryGetValue("adversarial", out var adv);
            if (naive is not null)
            {
                double kept = tp > 0 ? naive.PgdAccuracy!.Value / tp : double.NaN;
                bool holds = tp > 0 && kept <= MostLostShare;
                parts.Add(Inv($"naive pruning: PGD-10 {Percent(naive.PgdAccuracy)}% vs the teacher's {Percent(tp)}% ({(double.IsNaN(kept) ? "-" : Inv($"{100 * kept:F0}%"))} kept){AutoText(naive, teacher)}; 'loses most robustness' **{(holds ? "holds" : "does not hold")}**"));
            }
            if (pw is not null)
            {
                double gap = 100 * (tp - pw.PgdAccuracy!.Value);
                bool holds = gap <= ClosePoints;
                string versus = naive is null ? "" : Inv($"; it keeps {100 * (pw.PgdAccuracy!.Value - naive.PgdAccuracy!.Value):+0.0;-0.0} points of PGD-10 accuracy more than naive pruning{(pw.AutoAttackAccuracy is double pa && naive.AutoAttackAccuracy is double na ? $" ({100 * (pa - na):+0.0;-0.0} under AutoAttack)" : "")}");
                parts.Add(Inv($"PwoA: PGD-10 {Percent(pw.PgdAccuracy)}%, {gap:F1} points below the teacher{AutoText(pw, teacher)}; 'close to the teacher' **{(holds ? "holds" : "does not hold")}**{versus}"));
            }
            if (adv is not null)
            {
                string robust = Inv($"adversarial pruning: PGD-10 {Percent(adv.PgdAccuracy)}%{AutoText(adv, teacher)}");
                double? advEpoch = adv.RetrainSecondsPerEpoch;
                var costs = new List<string>();
                if (advEpoch is double ae && naive?.RetrainSecondsPerEpoch is double ne && ne > 0)
                    costs.Add(Inv($"{ae / ne:F1}x a naive fine-tuning epoch (expected about 11)"));
                if (advEpoch is double ae2 && pw?.RetrainSecondsPerEpoch is double pe && pe > 0)
                {
                    double ratio = ae2 / pe;
                    string admm = pw.AdmmSecondsPerEpoch is double pa && pa > 0 ? Inv($", {ae2 / pa:F1}x a PwoA ADMM epoch") : "";
                    costs.Add(Inv($"{ratio:F1}x a PwoA retraining epoch{admm}; 'a fraction of adversarial pruning's cost' per epoch **{(ratio >= CostRatio ? "holds" : "does not hold")}**"));
                    if (pw.PruneSeconds is double pt && adv.PruneSeconds is double at && at > 0)
                        costs.Add(Inv($"whole runs: PwoA {pt / 60:F2} min vs adversarial {at / 60:F2} min (ratio {pt / at:F2}) at the epochs stated above"));
                }
                parts.Add(costs.Count == 0 ? robust : robust + "; its fine-tuning epoch took " + string.Join("; ", costs));
            }
            md.AppendLine(Inv($"- **{label}**: {string.Join(". ", parts.Select(Capitalise))}."));
        }
        if (rows.Count == 0) md.AppendLine("No pruned row is finished yet.");
        md.AppendLine();
    }

    private static string AutoText(PwoaTableRow row, PwoaTableRow teacher) =>
        row.AutoAttackAccuracy is double a && teacher.AutoAttackAccuracy is double t
            ? Inv($", AutoAttack {a * 100:F1}% vs {t * 100:F1}%")
            : "";

    private static void WriteLayers(StringBuilder md, PwoaTableState state, PwoaTable.Invocation run)
    {
        var rows = Ordered(state, run).Where(r => r.Layers is { Count: > 0 }).ToList();
        if (rows.Count == 0) return;
        md.AppendLine("## Sparsity per pruned tensor (zeros counted in the weights)");
        md.AppendLine();
        md.AppendLine($"| tensor | shape | {string.Join(" | ", rows.Select(r => r.Key))} |");
        md.AppendLine($"|---|---|{string.Concat(rows.Select(_ => "---:|"))}");
        var names = rows[0].Layers!;
        foreach (var layer in names)
        {
            var cells = rows.Select(r => r.Layers!.FirstOrDefault(l => l.Name == layer.Name) is { } l ? Inv($"{100 * l.Sparsity:F2}") : "-");
            md.AppendLine($"| {layer.Name} | {string.Join("x", layer.Shape)} | {string.Join(" | ", cells)} |");
        }
        md.AppendLine($"| **overall** | | {string.Join(" | ", rows.Select(r => Percent(r.OverallSparsity)))} |");
        md.AppendLine();
        md.AppendLine("Overall counts only the tensors listed (conv and linear weights); biases and BatchNorm parameters are not pruned and not counted.");
        md.AppendLine();
    }

    /// <summary>Teacher first, then the sparsities and methods in the order given (rows from earlier invocations after them).</summary>
    private static IEnumerable<PwoaTableRow> Ordered(PwoaTableState state, PwoaTable.Invocation run)
    {
        var labels = run.Sparsities.Select(x => x.ToLowerInvariant()).ToList();
        var methods = run.Methods.Select(x => x.Trim().ToLowerInvariant()).ToList();
        static int Rank(List<string> order, string value) => order.IndexOf(value) is int i and >= 0 ? i : int.MaxValue;
        return state.Rows.OrderBy(r => r.Method == "teacher" ? 0 : 1).ThenBy(r => Rank(labels, r.SparsityLabel)).ThenBy(r => Rank(methods, r.Method));
    }

    private static string Percent(double? value) => value is double v ? (100 * v).ToString("F1", CultureInfo.InvariantCulture) : "-";

    private static string Number(double? value, string format) => value is double v ? v.ToString(format, CultureInfo.InvariantCulture) : "-";

    private static string Capitalise(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];

    private static void AtomicWrite(string path, string text)
    {
        string temporary = path + ".tmp";
        File.WriteAllText(temporary, text);
        File.Move(temporary, path, overwrite: true);
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
