using System.Globalization;
using System.Text;

namespace Robustness.Benchmarks;

/// <summary>
/// The Markdown page of an attack table run, rewritten after every row: settings, the models, a table per model,
/// the AutoAttack section, and a comparison with ATTACKS.md's reference numbers whose every claim is computed from the
/// measured rows (the expected ordering is checked, not asserted).
/// </summary>
public static class AttackTableReport
{
    // The chain whose ordering ATTACKS.md's references show: a stronger attack leaves no more robust accuracy.
    private static readonly (string Attack, string Label)[] Chain =
        [("fgsm", "FGSM"), ("pgd", "PGD-10"), ("apgd-ce", "APGD-CE"), ("autoattack", "AutoAttack")];

    public static void Write(string path, AttackTableState state)
    {
        var s = state.Settings;
        var md = new StringBuilder();
        md.AppendLine(Inv($"# Clean and robust accuracy at l-inf {s.Eps}, {s.Images:N0} test images (Robustness)"));
        md.AppendLine();
        md.AppendLine(Inv($"Machine: {state.Machine?.Cpu}, {state.Machine?.Cores} cores, {state.Machine?.Os}, {state.Machine?.DotNet}; device {state.Device}, {state.Threads} threads"));
        md.AppendLine(Inv($"(each row records the device and threads it ran with); started {state.StartedUtc}, last update {state.UpdatedUtc}."));
        md.AppendLine(Inv($"Produced by `Robustness.Benchmarks attack-table` (raw numbers: {Path.GetFileNameWithoutExtension(path)}.json; rows still missing are running or not yet run)."));
        md.AppendLine();
        md.AppendLine("Settings:");
        md.AppendLine(Inv($"- Data: `{s.DataFolder}`, class folders; a class-balanced subset of {s.Images:N0} images, the first images/classes files of every class by ordinal file name, resized to the model's input size if needed (CIFAR-10 test images are already 32x32)."));
        md.AppendLine(Inv($"- Budget: l-inf {s.Eps} ({s.Epsilon:G6}) for every attack with an l-inf mode; CW-l2 (l2 only) is judged at l2 {s.L2Bound:G4} (RobustBench's l2 budget)."));
        md.AppendLine(Inv($"- Every attack runs at the catalogue's defaults (`BuiltInAttacks`, the papers' and torchattacks' values), seed {s.Seed}, batches of {s.Batch}, on the images the model classifies correctly."));
        md.AppendLine("  An image counts as broken only when its adversarial is misclassified, in [0,1], free of NaNs and within the budget (+1e-6) in the attack's norm (`AdversarialVerdict`).");
        md.AppendLine("  Robust accuracy = images still correct after the attack / all images (misclassified clean images count as not robust).");
        md.AppendLine("- Seconds: wall time of the row (clean pass + attack + judging); img/s = images / seconds, over all images.");
        md.AppendLine();

        md.AppendLine("## Models");
        md.AppendLine();
        md.AppendLine("| name | architecture | width | depth / widen | input | normalisation (mean / std) | parameters | file (sha256) |");
        md.AppendLine("|---|---|---:|---|---|---|---:|---|");
        foreach (var m in state.Models)
            md.AppendLine(Inv($"| {m.Name} | {m.Architecture} | {m.Width} | {m.Depth} / {m.WidenFactor} | {m.ImageSize}x{m.ImageSize}, {m.Classes} classes | {Floats(m.Mean)} / {Floats(m.Std)} | {m.Parameters:N0} | `{Path.GetFileName(m.File)}` ({m.Sha256[..12]}) |"));
        md.AppendLine("(width/depth 0 = the architecture's standard; the metadata says nothing about how a model was trained: its name does.)");
        md.AppendLine();

        var models = state.Models.Select(m => m.Name).ToArray();
        var attacks = state.Rows.Where(r => r.Attack is not ("clean" or "autoattack")).Select(r => r.Attack).Distinct().ToArray();
        if (models.Length > 0 && attacks.Length > 0)
        {
            md.AppendLine("## Summary: robust accuracy (%)");
            md.AppendLine();
            md.AppendLine($"| attack | {string.Join(" | ", models)} |");
            md.AppendLine($"|---|{string.Concat(models.Select(_ => "---:|"))}");
            md.AppendLine($"| clean | {string.Join(" | ", models.Select(m => Cell(state, m, "clean")))} |");
            foreach (string a in attacks) md.AppendLine($"| {a} | {string.Join(" | ", models.Select(m => Cell(state, m, a)))} |");
            if (state.Rows.Any(r => r.Attack == "autoattack"))
                md.AppendLine($"| AutoAttack (standard) | {string.Join(" | ", models.Select(m => Cell(state, m, "autoattack")))} |");
            md.AppendLine();
        }

        foreach (string model in models)
        {
            var rows = state.Rows.Where(r => r.Model == model && r.Attack != "autoattack").ToArray();
            if (rows.Length == 0) continue;
            md.AppendLine($"## {model}");
            md.AppendLine();
            md.AppendLine("| attack | settings | judged | robust accuracy % | seconds | img/s |");
            md.AppendLine("|---|---|---|---:|---:|---:|");
            foreach (var r in rows)
            {
                string acc = r.Accuracy is double a ? Inv($"{100 * a:F1}") : "(not yet)";
                string judged = r.Attack == "clean" ? "clean accuracy" : r.Judged ?? "";
                string seconds = r.WallSeconds is double t ? Inv($"{t:F1}") : "-";
                string rate = r.ImagesPerSecond is double ips ? Inv($"{ips:F1}") : "-";
                md.AppendLine($"| {r.Attack} | {r.Settings} | {judged} | {acc} | {seconds} | {rate} |");
            }
            md.AppendLine();
        }

        var auto = state.Rows.Where(r => r.Attack == "autoattack" && r.AutoAttack is not null).ToArray();
        md.AppendLine("## AutoAttack-style standard evaluation");
        md.AppendLine();
        if (auto.Length == 0) md.AppendLine("Not run yet (it runs last, after every per-attack row of every model), or `--autoattack off`.");
        else
        {
            md.AppendLine(Inv($"APGD-CE, APGD-T (9 targets), FAB-T (9 targets), Square (5,000 queries), l-inf {s.Eps}; each attack runs only on the points every earlier one failed on (`AutoAttackEvaluator.Standard`)."));
            md.AppendLine($"Settings: {auto[0].Settings}.");
            md.AppendLine();
            var steps = auto[0].AutoAttack!.Attacks.Select(a => a.Attack).ToArray();
            md.AppendLine($"| model | clean % | {string.Join(" | ", steps.Select(a => $"after {a} %"))} | robust % | seconds | per 1,000 images (s) | sanity: max l-inf, NaNs, range | warnings |");
            md.AppendLine($"|---|---:|{string.Concat(steps.Select(_ => "---:|"))}---:|---:|---:|---|---|");
            foreach (var r in auto)
            {
                var rep = r.AutoAttack!;
                string range = rep.Sanity.MinValue is double lo && rep.Sanity.MaxValue is double hi ? Inv($"[{lo:G4}, {hi:G4}]") : "none";
                md.AppendLine(Inv($"| {r.Model} | {100 * rep.CleanAccuracy:F1} | {string.Join(" | ", rep.Attacks.Select(a => Inv($"{100 * a.RobustAccuracy:F1}")))} | {100 * rep.RobustAccuracy:F1} | {rep.TotalSeconds:F1} | {1000 * rep.TotalSeconds / rep.Images:F1} | {rep.Sanity.MaxPerturbationNorm:G4}, {rep.Sanity.NanValues}, {range} | {(rep.Warnings.Count == 0 ? "none" : string.Join("; ", rep.Warnings))} |"));
            }
            md.AppendLine();
            md.AppendLine("Per-attack time of each part (s): " + string.Join("; ", auto.Select(r =>
                $"{r.Model}: {string.Join(", ", r.AutoAttack!.Attacks.Select(a => Inv($"{a.Attack} {a.Seconds:F1}")))}")) +
                Inv($". Time per 1,000 images = total seconds (clean pass + the four attacks, summed over resumed runs) / images x 1,000, on {state.Device}."));
        }
        md.AppendLine();

        md.AppendLine("## How this compares");
        md.AppendLine();
        md.AppendLine("References (ATTACKS.md; other models, other image counts, so only the ordering is comparable): RobustBench, CIFAR-10 l-inf 8/255,");
        md.AppendLine("AutoAttack on 10,000 images (clean / robust %): Standard WRN-28-10 94.78 / 0.0, Madry2018 WRN-34-10 87.14 / 44.04, Wong2020Fast");
        md.AppendLine("PreActResNet-18 83.34 / 43.21. torchattacks README (50 images, Standard / Wong2020Fast / Rice2020): FGSM 34 / 48 / 62 %, PGD-10 0 / 44 / 58 %,");
        md.AppendLine("CW-l2 0 / 14 / 22 % (torchattacks' CW uses a fixed c and no bound, so not comparable to the CW-l2 row here, which is judged at l2 0.5).");
        md.AppendLine("Expected: a clean-trained model near 0% under PGD and AutoAttack, an adversarially trained one keeping a fraction of its clean");
        md.AppendLine("accuracy; FGSM >= PGD >= APGD >= AutoAttack. What this run measured:");
        md.AppendLine();
        foreach (string line in Comparison(state, models)) md.AppendLine("- " + line);
        md.AppendLine();
        md.AppendLine("Rerun or resume: see benchmarks/README.md (`attack-table`); a killed run started again with the same settings skips the finished rows.");
        File.WriteAllText(path, md.ToString());
    }

    /// <summary>Sentences computed from the measured rows only; nothing is said about a row that has not run.</summary>
    private static IEnumerable<string> Comparison(AttackTableState state, IReadOnlyList<string> models)
    {
        var headline = new Dictionary<string, (string Label, double Value)>();
        foreach (string model in models)
        {
            double? clean = Value(state, model, "clean");
            var present = Chain.Select(c => (c.Label, Value: Value(state, model, c.Attack))).Where(c => c.Value is not null)
                .Select(c => (c.Label, Value: c.Value!.Value)).ToArray();
            if (clean is null || present.Length == 0)
            {
                yield return $"{model}: not enough rows yet.";
                continue;
            }
            var (label, strongest) = present[^1];
            headline[model] = (label, strongest);
            string values = string.Join(", ", present.Select(p => Inv($"{p.Label} {100 * p.Value:F1}%")));
            string kept = clean > 0 ? Inv($"{100 * strongest / clean.Value:F0}% of its clean accuracy kept under {label}") : "no clean accuracy";
            string level = strongest <= 0.05 ? Inv($"near 0% under {label}, like RobustBench's Standard model") : Inv($"keeps {100 * strongest:F1}% under {label}");
            yield return Inv($"{model}: clean {100 * clean:F1}%, {values}; {kept}; {level}.");

            var violations = new List<string>();
            for (int i = 1; i < present.Length; i++)
                if (present[i].Value > present[i - 1].Value)
                    violations.Add(Inv($"{present[i].Label} {100 * present[i].Value:F1}% > {present[i - 1].Label} {100 * present[i - 1].Value:F1}% (by {100 * (present[i].Value - present[i - 1].Value):F1} points)"));
            if (present.Length < 2) yield return $"{model}: the ordering needs at least two of FGSM, PGD, APGD-CE, AutoAttack.";
            else if (violations.Count == 0)
                yield return $"{model}: the ordering {string.Join(" >= ", present.Select(p => p.Label))} holds.";
            else yield return $"{model}: the ordering does NOT hold: {string.Join("; ", violations)}.";

            var above = state.Rows.Where(r => r.Model == model && r.Attack != "clean" && r.Accuracy > clean).Select(r => r.Attack).ToArray();
            yield return above.Length == 0
                ? $"{model}: every measured attack leaves robust accuracy <= clean accuracy."
                : $"{model}: robust accuracy ABOVE clean accuracy for {string.Join(", ", above)} (a bug: check these rows).";
        }
        if (headline.Count >= 2)
        {
            var ranked = headline.OrderByDescending(h => h.Value.Value).ToArray();
            bool sameMeasure = ranked.Select(r => r.Value.Label).Distinct().Count() == 1;
            yield return Inv($"Across models (strongest measured attack{(sameMeasure ? $", {ranked[0].Value.Label}" : " of each")}): ") +
                string.Join(" > ", ranked.Select(r => Inv($"{r.Key} {100 * r.Value.Value:F1}%"))) +
                Inv($"; the most robust keeps {100 * (ranked[0].Value.Value - ranked[^1].Value.Value):F1} points more than the least.") +
                (ranked[^1].Value.Value <= 0.05 && ranked[0].Value.Value > 0.05
                    ? " As in the references, one model is near 0% and another keeps a fraction."
                    : " The references' picture (one model near 0%, another keeping a fraction) is not what this run shows.");
        }
    }

    private static double? Value(AttackTableState state, string model, string attack) =>
        state.Rows.FirstOrDefault(r => r.Model == model && r.Attack == attack)?.Accuracy;

    private static string Cell(AttackTableState state, string model, string attack) =>
        Value(state, model, attack) is double v ? Inv($"{100 * v:F1}") : "-";

    private static string Floats(IReadOnlyList<float> values) => "[" + string.Join(", ", values.Select(v => v.ToString("G4", CultureInfo.InvariantCulture))) + "]";

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
