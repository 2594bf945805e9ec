using System.Globalization;
using System.Text;
using Robustness.Data;
using Robustness.IO;

namespace Robustness.Protection.Batch;

/// <summary>
/// Writes the human-readable report of a protected folder: <c>report.md</c> with the run's settings, the counts from
/// every shard's manifest, the files converted to PNG and the failures, and one picture per class
/// (<c>examples-&lt;k&gt;-&lt;class&gt;.png</c>) showing up to <see cref="ExamplesPerClass"/> images as clean | protected |
/// delta, the delta amplified (see <see cref="Amplification"/>) around mid-grey so an imperceptible change becomes visible.
/// </summary>
public static class ProtectionReport
{
    /// <summary>Examples shown per class.</summary>
    public const int ExamplesPerClass = 3;

    /// <summary>
    /// The factor the delta is multiplied by in the pictures: the largest whole number that maps the full budget
    /// (<paramref name="levels"/>) into [-127, 127] around grey 128 (at least 1): 15 for 8/255, 63 for 2/255.
    /// </summary>
    public static int Amplification(int levels) => DifferencePanel.Amplification(levels);

    /// <summary>Upscale factor of the pictures: whole, so the larger side is at least 96 pixels, at most 8.</summary>
    public static int Upscale(int height, int width) => DifferencePanel.Upscale(height, width);

    /// <summary>
    /// Writes the report into <paramref name="reportFolder"/> (created if needed) and returns the path of <c>report.md</c>.
    /// <paramref name="run"/> (this invocation's result) adds its timing; <paramref name="extraMarkdown"/> is appended
    /// (e.g. an evaluation section).
    /// </summary>
    public static string Write(string reportFolder, string inputRoot, string outputRoot, FolderProtectionResult? run = null, string? extraMarkdown = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(reportFolder);
        string folder = Path.GetFullPath(reportFolder);
        Directory.CreateDirectory(folder);
        var settings = ProtectionRunSettings.TryReadFrom(outputRoot)
            ?? throw new InvalidOperationException($"'{outputRoot}' has no run settings ({OutputLayout.StateFolderName}/{OutputLayout.RunFileName}); protect it first.");
        var records = ManifestReader.ReadAll(outputRoot);
        // The latest record per input wins (a file that failed and later succeeded is ok).
        var latest = new Dictionary<string, ManifestRecord>(StringComparer.Ordinal);
        foreach (var r in records) if (!latest.TryGetValue(r.Input, out var seen) || !seen.IsOk || r.IsOk) latest[r.Input] = r;
        var ok = latest.Values.Where(r => r.IsOk).OrderBy(r => r.Input, StringComparer.Ordinal).ToArray();
        var failed = latest.Values.Where(r => !r.IsOk).OrderBy(r => r.Input, StringComparer.Ordinal).ToArray();
        var converted = ok.Where(r => !OutputLayout.IsPng(r.Input)).Select(r => r.Input).ToArray();
        int levels = ProtectionQuantizer.Levels(settings.Epsilon);
        var ci = CultureInfo.InvariantCulture;

        var md = new StringBuilder();
        md.AppendLine("# Protection report").AppendLine();
        md.AppendLine(ci, $"Input `{Path.GetFullPath(inputRoot)}`, output `{Path.GetFullPath(outputRoot)}`.").AppendLine();
        md.AppendLine("| setting | value |").AppendLine("| --- | --- |");
        md.AppendLine(ci, $"| method | {settings.Method} |");
        md.AppendLine(ci, $"| eps | {Attacks.Budget.Format(settings.Epsilon)} ({levels} levels) |");
        md.AppendLine(ci, $"| iterations | {settings.Iterations?.ToString(ci) ?? "default"} |");
        if (settings.Steps is int steps) md.AppendLine(ci, $"| steps | {steps} |");
        md.AppendLine(ci, $"| step size | {(settings.StepSize is { } s ? Attacks.Budget.Format(s) : "default")} |");
        md.AppendLine(ci, $"| checkpoints | {(settings.CheckpointEpochs.Count == 0 ? "none" : $"{settings.CheckpointEpochs.Count} (epochs {Span(settings.CheckpointEpochs)}), K = {settings.CheckpointCount?.ToString(ci) ?? "default"}")} |");
        md.AppendLine(ci, $"| seed | {settings.Seed} |");
        if (settings.WorkSize is int work) md.AppendLine(ci, $"| source model input | {work}x{work} |");
        md.AppendLine(ci, $"| expectation over transforms | {(settings.ExpectationOverTransforms ? "yes (random resized crops and flips)" : "no")} |");
        md.AppendLine(ci, $"| batch size | {settings.BatchSize} |").AppendLine();

        md.AppendLine("## Files").AppendLine();
        md.AppendLine(ci, $"- protected (all shards, per the manifests): {ok.Length}");
        md.AppendLine(ci, $"- failed: {failed.Length}");
        md.AppendLine(ci, $"- converted to PNG (a lossless copy of a .jpg or other input gets the .png extension): {converted.Length}");
        if (ok.Length > 0) md.AppendLine(ci, $"- largest |delta| written: {ok.Max(r => r.MaxDelta ?? 0)} levels (bound {levels})");
        // Visibility from the manifests (records written before PSNR/SSIM were recorded have none).
        var measured = ok.Where(r => r.Ssim is not null).ToArray();
        if (QualitySummary.Of(measured.Select(r => (r.Psnr, r.Ssim!.Value))) is { } quality)
        {
            md.AppendLine(ci, $"- visibility: {quality}{(measured.Length < ok.Length ? $" ({ok.Length - measured.Length} older record(s) without it)" : "")}");
            var worst = measured.Where(r => r.Psnr is not null).OrderBy(r => r.Psnr).Take(3).Select(r => string.Create(ci, $"`{r.Input}` {r.Psnr:F2} dB")).ToArray();
            if (worst.Length > 0) md.AppendLine(ci, $"- most visible (lowest PSNR): {string.Join(", ", worst)}");
        }
        if (run is not null)
            md.AppendLine(ci, $"- this run: {run.Protected} protected, {run.AlreadyDone} already done, {run.Failed} failed, {run.WallTime:hh\\:mm\\:ss}, {run.ImagesPerSecond:F1} img/s; {(run.AnySize ? $"{run.Sizes.Count} image size(s), each kept at its own size{(settings.CheckpointEpochs.Count > 0 ? $", crafted through the model's {run.ImageSize.Height}x{run.ImageSize.Width} view" : "")}" : $"images must be {run.ImageSize.Height}x{run.ImageSize.Width}")}");
        md.AppendLine();
        if (converted.Length > 0)
        {
            md.AppendLine("Converted to PNG:").AppendLine();
            foreach (var c in converted.Take(50)) md.AppendLine(ci, $"- `{c}` -> `{OutputLayout.OutputPathOf(c)}`");
            if (converted.Length > 50) md.AppendLine(ci, $"- ... and {converted.Length - 50} more");
            md.AppendLine();
        }
        if (failed.Length > 0)
        {
            md.AppendLine("Failed:").AppendLine();
            foreach (var f in failed.Take(100)) md.AppendLine(ci, $"- `{f.Input}`: {f.Error}");
            if (failed.Length > 100) md.AppendLine(ci, $"- ... and {failed.Length - 100} more");
            md.AppendLine();
        }

        md.AppendLine("## Examples").AppendLine();
        int amplification = Amplification(levels);
        md.AppendLine(ci, $"Each row: clean | protected | delta x{amplification} around grey (the full budget of {levels} levels reaches +-{amplification * levels}); pictures enlarged with nearest-neighbour pixels.").AppendLine();
        var byClass = ok.GroupBy(r => r.Input.Split('/')[0], StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).ToArray();
        for (int k = 0; k < byClass.Length; k++)
        {
            var examples = byClass[k].Take(ExamplesPerClass).ToArray();
            string name = string.Create(ci, $"examples-{k:D2}-{Sanitise(byClass[k].Key)}.png");
            if (WritePanel(Path.Combine(folder, name), examples, inputRoot, outputRoot, amplification) is { } zoom)
            {
                md.AppendLine(ci, $"### {byClass[k].Key}").AppendLine().AppendLine(ci, $"![{byClass[k].Key}]({name})").AppendLine();
                if (zoom) md.AppendLine(ci, $"Zoomed: {ZoomSize} x {ZoomSize} pixels around the largest change of the first image, x{ZoomScale}.").AppendLine()
                    .AppendLine(ci, $"![{byClass[k].Key}, zoomed]({ZoomName(name)})").AppendLine();
            }
        }
        if (!string.IsNullOrWhiteSpace(extraMarkdown)) md.AppendLine(extraMarkdown);

        string path = Path.Combine(folder, "report.md");
        AtomicFile.WriteAllText(path, md.ToString());
        return path;
    }

    private static string Span(IReadOnlyList<int> epochs) => epochs.Count <= 6 ? string.Join(", ", epochs) : $"{epochs[0]}..{epochs[^1]}";

    private static string Sanitise(string name)
    {
        var chars = name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_').Take(60).ToArray();
        return chars.Length == 0 ? "class" : new string(chars);
    }

    /// <summary>Images larger than this on a side also get a zoomed picture (at full size a few levels are invisible).</summary>
    public const int ZoomAbove = 128;

    /// <summary>Side of the zoomed window, in the image's pixels.</summary>
    public const int ZoomSize = 64;

    /// <summary>Enlargement of the zoomed window.</summary>
    public const int ZoomScale = 4;

    private static string ZoomName(string name) => Path.ChangeExtension(name, null) + "-zoom.png";

    /// <summary>
    /// Composes the rows clean | protected | amplified delta into one PNG at the images' own resolution (small images
    /// enlarged), plus a zoomed crop for large images; null when no example could be read, else whether a zoom was written.
    /// </summary>
    private static bool? WritePanel(string path, IReadOnlyList<ManifestRecord> examples, string inputRoot, string outputRoot, int amplification)
    {
        var rows = new List<(RgbImage Clean, RgbImage Stored)>();
        foreach (var r in examples)
        {
            try
            {
                var clean = ImageFileReader.Read(SafeOutputPath.Resolve(inputRoot, r.Input));
                var stored = ImageFileReader.Read(SafeOutputPath.Resolve(outputRoot, r.Output!));
                if (clean.Height == stored.Height && clean.Width == stored.Width) rows.Add((clean, stored));
            }
            catch (Exception e) when (e is InvalidDataException or ArgumentException)
            {
                // Changed since it was protected: left out of the picture.
            }
        }
        if (rows.Count == 0) return null;
        int h = rows[0].Clean.Height, w = rows[0].Clean.Width;
        var sameSize = rows.Where(r => r.Clean.Height == h && r.Clean.Width == w).Select(r => (r.Clean.Pixels, r.Stored.Pixels)).ToList();
        DifferencePanel.Write(path, sameSize, RgbImage.ChannelCount, h, w, amplification);
        if (Math.Max(h, w) <= ZoomAbove) return false;
        var crop = DifferencePanel.Crop(sameSize, RgbImage.ChannelCount, h, w, ZoomSize);
        DifferencePanel.Write(Path.Combine(Path.GetDirectoryName(path)!, ZoomName(Path.GetFileName(path))), crop.Rows, RgbImage.ChannelCount, crop.Height, crop.Width, amplification, ZoomScale);
        return true;
    }
}
