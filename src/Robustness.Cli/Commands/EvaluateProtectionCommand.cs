using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Robustness.Cli.Output;
using Robustness.Data;
using Robustness.IO;
using Robustness.Models;
using Robustness.Protection;
using Robustness.Protection.Stress;

namespace Robustness.Cli.Commands;

/// <summary>
/// <c>robustness evaluate-protection</c>: the protection stress test (<see cref="ProtectionStressTest"/>). Victims are
/// trained on the clean folder and on each protected folder after each trainer pipeline (JPEG, resize, crop and flip,
/// grayscale, blur, adversarial training) and tested on clean images; the table says which protections survive which
/// pipeline. Each finished victim is appended to <c>victims.jsonl</c> in the report folder, so a killed run resumes.
/// </summary>
public static class EvaluateProtectionCommand
{
    /// <summary>The name of the resume file in the report folder.</summary>
    public const string VictimsFile = "victims.jsonl";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Builds the command.</summary>
    public static Command Create(TextWriter output, TextWriter error, ModelFamilyRegistry models)
    {
        var clean = new Option<string>("--clean") { Description = "The clean training images in class folders (what was protected).", Required = true };
        var protectedSets = new Option<string[]>("--protected")
        {
            Description = "A protected folder as NAME=DIR (e.g. sep=out/), the output of 'robustness protect'; repeat for each method.",
            Required = true, AllowMultipleArgumentsPerToken = true,
        };
        var test = new Option<string>("--test") { Description = "Clean test images in class folders.", Required = true };
        var pipelines = new Option<string>("--pipelines")
        {
            Description = $"Trainer pipelines, comma-separated: {string.Join(", ", TrainerPipelines.Names)} (jpegQ, resizeF, blurS take other numbers).",
            DefaultValueFactory = _ => string.Join(",", TrainerPipelines.Names),
        };
        var imageSize = new Option<int?>("--image-size") { Description = "Stretch every image to N x N first (bilinear), as a trainer's resize does; without it all images must share one size." };
        var arch = new Option<string>("--arch") { Description = $"Victim architecture: {string.Join(", ", models.Names)}.", DefaultValueFactory = _ => "resnet18" };
        arch.AcceptOnlyFromAmong([.. models.Names]);
        var width = new Option<int>("--width") { Description = "Victim base width (0 = the architecture's standard width).", DefaultValueFactory = _ => 0 };
        var epochs = new Option<int>("--epochs") { Description = "Victim epochs (SEP's recipe: SGD lr 0.1, warm-up, x0.1 steps, random crop and flip).", DefaultValueFactory = _ => 30 };
        var batch = new Option<int>("--batch-size") { Description = "Victim batch size.", DefaultValueFactory = _ => 128 };
        var pgdSteps = new Option<int>("--pgd-steps") { Description = "PGD steps of the pgd-at pipeline (eps 8/255, step 2/255).", DefaultValueFactory = _ => 7 };
        var report = new Option<string>("--report")
        {
            Description = "Report folder: report.json, report.md, report.html, accuracy.png, and victims.jsonl (each finished victim; a rerun with the same settings skips them).",
            Required = true,
        };
        var seed = CommonOptions.Seed();
        var device = CommonOptions.Device();
        var command = new Command("evaluate-protection",
            "Stress-test protected folders: train victims on the clean and the protected images after what trainers do " +
            "(JPEG re-encoding, resizing, random resized crops and flips, grayscale, blur, adversarial training) and report their clean test accuracy.")
        {
            clean, protectedSets, test, pipelines, imageSize, arch, width, epochs, batch, pgdSteps, seed, device, report,
        };
        command.SetAction((parse, cancel) =>
        {
            int epochCount = CommonOptions.InRange(parse, epochs, 1, 100_000);
            int batchSize = CommonOptions.InRange(parse, batch, 1, 1_000_000);
            int steps = CommonOptions.InRange(parse, pgdSteps, 1, 1000);
            int seedValue = CommonOptions.InRange(parse, seed, 0);
            int? size = parse.GetValue(imageSize);
            if (size is < 8 or > 1024) throw new UsageException($"--image-size must be between 8 and 1024 pixels; got {size}.");
            var chosen = ParsePipelines(parse.GetValue(pipelines)!, steps);
            var named = ParseProtected(parse.GetValue(protectedSets)!);
            var deviceValue = CommonOptions.ResolveDevice(parse, device);
            string reportDir = Path.GetFullPath(parse.GetValue(report)!);
            if (File.Exists(reportDir)) throw new UsageException($"--report '{reportDir}' is a file; give a folder.");

            var cleanSet = ReadFolder(parse.GetValue(clean)!, "--clean", error, size);
            var sets = new List<(string Name, ImageSet Train)> { ("clean", cleanSet) };
            foreach (var (name, dir) in named)
                sets.Add((name, ReadFolder(dir, $"--protected {name}", error, size).AlignClasses(cleanSet.ClassNames)));
            var testSet = ReadFolder(parse.GetValue(test)!, "--test", error, size).AlignClasses(cleanSet.ClassNames);
            foreach (var (name, set) in sets.Skip(1))
                if (set.Count != cleanSet.Count)
                    error.WriteLine($"warning: --protected {name} holds {set.Count} images, the clean folder {cleanSet.Count}; its victim trains on what is there.");

            var spec = new ModelSpec(parse.GetValue(arch)!, cleanSet.ClassNames.Count, parse.GetValue(width), cleanSet.Channels, cleanSet.Height);
            var recipe = VictimRecipe.ForSep(spec, epochCount) with { Seed = seedValue, Device = deviceValue, Normalization = ChannelStatistics.Of(cleanSet) };
            recipe = recipe with { Training = recipe.Training with { BatchSize = batchSize } };

            Directory.CreateDirectory(reportDir);
            string victimsPath = Path.Combine(reportDir, VictimsFile);
            var keys = sets.ToDictionary(s => s.Name, s => CellKey(recipe, s.Train, testSet, size, steps), StringComparer.Ordinal);
            var done = ReadDone(victimsPath, keys, output);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Stress test: {chosen.Count} pipeline(s) x {sets.Count} training set(s) ({string.Join(", ", sets.Select(s => s.Name))}) = {chosen.Count * sets.Count} victims " +
                $"({done.Count} already measured); victim {recipe.Summary()}; {cleanSet.Count} training and {testSet.Count} test images of {cleanSet.Height}x{cleanSet.Width}."));

            int current = 0;
            var progress = new Progress(output, () => current, v => current = v);
            var result = new ProtectionStressTest(recipe, chosen).Run(sets, testSet, done, cell =>
            {
                File.AppendAllText(victimsPath, JsonSerializer.Serialize(new StoredCell(keys[cell.Set], cell), Json) + "\n");
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {cell.Pipeline} / {cell.Set}: test accuracy {100 * cell.Accuracy:F1}% ({cell.WallSeconds / 60:F1} min)"));
            }, progress, cancel);

            output.WriteLine();
            output.Write(result.ToMarkdown());
            output.WriteLine(WriteReport(reportDir, result, cleanSet, testSet, size));
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    private static List<TrainerPipeline> ParsePipelines(string text, int steps)
    {
        var names = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (names.Length == 0) throw new UsageException("--pipelines names no pipeline.");
        if (names.Distinct(StringComparer.OrdinalIgnoreCase).Count() != names.Length) throw new UsageException("--pipelines names a pipeline twice.");
        return names.Select(n => CommonOptions.Usage(() => TrainerPipelines.Parse(n, steps), "--pipelines")).ToList();
    }

    private static List<(string Name, string Dir)> ParseProtected(string[] values)
    {
        var list = new List<(string, string)>();
        foreach (string value in values)
        {
            int eq = value.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || eq == value.Length - 1) throw new UsageException($"--protected takes NAME=DIR (e.g. sep=protected/); got '{value}'.");
            string name = value[..eq].Trim();
            if (name.Equals("clean", StringComparison.OrdinalIgnoreCase)) throw new UsageException("--protected: 'clean' is the name of the --clean folder's column; choose another name.");
            if (list.Any(p => p.Item1.Equals(name, StringComparison.OrdinalIgnoreCase))) throw new UsageException($"--protected names '{name}' twice.");
            list.Add((name, value[(eq + 1)..]));
        }
        return list;
    }

    private static ImageSet ReadFolder(string dir, string option, TextWriter error, int? size)
    {
        if (!Directory.Exists(dir)) throw new UsageException($"{option} folder '{dir}' does not exist.");
        return DataSources.ReadFolder(dir, error, size);
    }

    // Everything that decides one victim's number besides its pipeline: the recipe, the sizes, its training images and
    // the test images. A stored victim of other settings or images is not reused; adding a set reuses the others.
    private static string CellKey(VictimRecipe recipe, ImageSet train, ImageSet test, int? size, int steps)
    {
        string text = string.Create(CultureInfo.InvariantCulture, $"{recipe.Summary()}|size {size}|pgd {steps}|test {Fingerprint(test)}|train {Fingerprint(train)}");
        return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
    }

    private static string Fingerprint(ImageSet set)
    {
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        sha.AppendData(set.Pixels);
        sha.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(set.Labels));
        return Convert.ToHexString(sha.GetHashAndReset())[..16];
    }

    private static List<StressCell> ReadDone(string path, IReadOnlyDictionary<string, string> keys, TextWriter output)
    {
        var done = new List<StressCell>();
        if (!File.Exists(path)) return done;
        int other = 0;
        foreach (string line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            StoredCell? stored;
            try { stored = JsonSerializer.Deserialize<StoredCell>(line, Json); }
            catch (JsonException) { continue; } // a line torn by a kill
            if (stored is null) continue;
            if (keys.TryGetValue(stored.Cell.Set, out string? key) && stored.Key == key) done.Add(stored.Cell);
            else other++;
        }
        if (other > 0) output.WriteLine($"{other} victim(s) in {path} were measured with other settings, images or training sets; they are not reused.");
        return done;
    }

    private static string WriteReport(string dir, StressTestReport result, ImageSet clean, ImageSet test, int? size)
    {
        var c = CultureInfo.InvariantCulture;
        var bars = result.Pipelines.SelectMany(p => result.Sets.Select(s => (p, s, cell: result.Cell(p.Name, s))))
            .Where(x => x.cell is not null).Select(x => ($"{x.p.Name} / {x.s}", 100 * x.cell!.Accuracy)).ToArray();
        if (bars.Length > 0) HorizontalBarChart.Write(Path.Combine(dir, "accuracy.png"), "Victim test accuracy by trainer pipeline / training set", "test accuracy (%)", bars, maxValue: 100);
        var md = new StringBuilder();
        md.AppendLine("# Protection stress test").AppendLine();
        md.AppendLine(c, $"Victims: {result.Recipe}; {clean.Count} training images, {test.Count} clean test images, {clean.Height}x{clean.Width}{(size is int s ? $" (every image stretched to {s}x{s})" : "")}.");
        md.AppendLine("Each cell is the clean test accuracy (%) of a fresh victim trained on that column's images after that row's pipeline;");
        md.AppendLine("in brackets, the difference from the clean column's victim under the same pipeline (more negative = the protection held).").AppendLine();
        md.Append(result.ToMarkdown()).AppendLine();
        if (bars.Length > 0) md.AppendLine("![Victim test accuracy](accuracy.png)").AppendLine();
        AtomicFile.WriteAllText(Path.Combine(dir, "report.json"), result.ToJson());
        string markdown = Path.Combine(dir, "report.md");
        AtomicFile.WriteAllText(markdown, md.ToString());
        HtmlReport.Write(markdown);
        return $"Report written to {dir} (report.json, report.md, report.html, accuracy.png).";
    }

    private sealed record StoredCell(string Key, StressCell Cell);

    // One line when a victim starts (each trains for minutes; its result line follows when it is done).
    private sealed class Progress(TextWriter output, Func<int> current, Action<int> set) : IProgress<StressProgress>
    {
        public void Report(StressProgress value)
        {
            if (value.Victim == current()) return;
            set(value.Victim);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"victim {value.Victim}/{value.Victims}: {value.Pipeline} on {value.Set}, {value.Training.Epochs} epochs"));
        }
    }
}
