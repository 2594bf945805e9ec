using Robustness.Data;

namespace Robustness.Protection.Batch;

/// <summary>The outcome of <see cref="ProtectedFolderVerifier.Verify"/>.</summary>
/// <param name="Checked">Input images that have an output that was checked.</param>
/// <param name="Problems">Everything wrong, one line each ("path: what"); empty when the output is complete and within bound.</param>
/// <param name="Notes">Inputs that are not expected to have an output (unreadable files, links out of the input), one line each.</param>
/// <param name="Levels">The bound checked, in 1/255 levels.</param>
public sealed record VerificationResult(int Checked, IReadOnlyList<string> Problems, IReadOnlyList<string> Notes, int Levels)
{
    /// <summary>PSNR and SSIM of the checked outputs against their inputs, measured from the files (null when none was checked).</summary>
    public QualitySummary? Quality { get; init; }

    /// <summary>True when there is no problem.</summary>
    public bool Passed => Problems.Count == 0;
}

/// <summary>
/// Checks a protected output folder against its input: every readable input image has its output, each output decodes,
/// has the input's size and differs from it by at most <see cref="ProtectionQuantizer.Levels"/>(eps) per channel, the
/// manifests' SHA-256 of each output matches the file, and no temporary file is left.
/// </summary>
public static class ProtectedFolderVerifier
{
    /// <summary>
    /// Verifies <paramref name="outputRoot"/> against <paramref name="inputRoot"/>. The budget is
    /// <paramref name="epsilon"/>, or the one in the output's <c>run.json</c> when null; throws
    /// <see cref="InvalidOperationException"/> when there is neither.
    /// </summary>
    public static VerificationResult Verify(string inputRoot, string outputRoot, double? epsilon = null, long maxPixels = ImageFileReader.DefaultMaxPixels,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(inputRoot);
        ArgumentException.ThrowIfNullOrEmpty(outputRoot);
        string output = Path.GetFullPath(outputRoot);
        if (!Directory.Exists(output)) throw new DirectoryNotFoundException($"Output folder '{output}' does not exist.");
        double eps = epsilon ?? ProtectionRunSettings.TryReadFrom(output)?.Epsilon
            ?? throw new InvalidOperationException($"'{output}' has no {OutputLayout.StateFolderName}/{OutputLayout.RunFileName}; give the budget (--eps).");
        int levels = ProtectionQuantizer.Levels(eps);
        var index = ImageFolderIndex.Scan(inputRoot);
        string realRoot = OutputLayout.Real(index.Root);
        var records = ManifestReader.ReadAll(output).Where(r => r.IsOk && r.Output is not null)
            .GroupBy(r => r.Output!, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);

        var problems = new List<string>();
        var notes = new List<string>();
        int checkedCount = 0;
        var quality = new List<(double? Psnr, double Ssim)>();
        // Two inputs that map to one output (a.jpg and a.png): protect wrote it for one of them and refused the other;
        // the manifest says which. The other is a note, not a comparison against someone else's output.
        var sharing = index.Files.GroupBy(f => OutputLayout.OutputPathOf(f.RelativePath), StringComparer.Ordinal)
            .Where(g => g.Count() > 1).ToDictionary(g => g.Key, g => g.Select(f => f.RelativePath).ToArray(), StringComparer.Ordinal);
        foreach (var file in index.Files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string relative = file.RelativePath;
            if (sharing.TryGetValue(OutputLayout.OutputPathOf(relative), out var rivals))
            {
                string shared = OutputLayout.OutputPathOf(relative);
                string? writer = records.TryGetValue(shared, out var written) ? written[^1].Input : null;
                if (writer != relative)
                {
                    notes.Add($"{relative}: not expected ({string.Join(" and ", rivals)} would share the output {shared}; {(writer is null ? "none of them was written" : $"it was written for {writer}")})");
                    continue;
                }
            }
            if (InputFolderScan.LinkProblem(realRoot, relative) is { } link)
            {
                notes.Add($"{relative}: not expected ({link})");
                continue;
            }
            RgbImage clean;
            try
            {
                clean = ImageFileReader.Read(file.FullPath, SizePolicy.MatchFirst, maxPixels);
            }
            catch (InvalidDataException e)
            {
                notes.Add($"{relative}: not expected (unreadable: {e.Message})");
                continue;
            }
            string outRelative = OutputLayout.OutputPathOf(relative);
            string outFull;
            try
            {
                outFull = SafeOutputPath.Resolve(output, outRelative);
            }
            catch (ArgumentException e)
            {
                problems.Add($"{relative}: {e.Message}");
                continue;
            }
            if (!File.Exists(outFull))
            {
                problems.Add($"{relative}: no output {outRelative}");
                continue;
            }
            RgbImage stored;
            try
            {
                stored = ImageFileReader.Read(outFull, SizePolicy.MatchFirst, maxPixels);
            }
            catch (InvalidDataException e)
            {
                problems.Add($"{outRelative}: the output does not decode ({e.Message})");
                continue;
            }
            checkedCount++;
            if (stored.Height != clean.Height || stored.Width != clean.Width)
            {
                problems.Add($"{outRelative}: the output is {stored.Height}x{stored.Width}, the input {clean.Height}x{clean.Width}");
                continue;
            }
            int delta = FolderProtectionJob.MaxDelta(clean.Pixels, stored.Pixels);
            quality.Add((ImageQuality.Psnr(clean.Pixels, stored.Pixels), ImageQuality.Ssim(clean.Pixels, stored.Pixels, RgbImage.ChannelCount, clean.Height, clean.Width)));
            if (delta > levels) problems.Add($"{outRelative}: max |delta| is {delta} levels, over the bound of {levels} ({Attacks.Budget.Format(eps)})");
            // A protector that silently failed (NaN gradients, a zero budget) writes the clean image: that is no protection.
            if (delta == 0) problems.Add($"{outRelative}: identical to its input, so not protected");
            string sha = FileHash.Sha256(outFull);
            if (!records.TryGetValue(outRelative, out var matching))
                problems.Add($"{outRelative}: no manifest record");
            else if (!matching.Any(r => r.OutputSha256 == sha))
                problems.Add($"{outRelative}: SHA-256 {sha} does not match the manifest ({string.Join(", ", matching.Select(r => r.OutputSha256).Distinct())})");
            else if (!matching.Any(r => r.OutputSha256 == sha && r.Input == relative))
                problems.Add($"{outRelative}: the manifest records it for {string.Join(", ", matching.Select(r => r.Input).Distinct())}, not for {relative}");
        }

        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = true };
        foreach (string temp in Directory.EnumerateFiles(output, ".*.tmp", options))
            if (OutputLayout.TempFileTarget(Path.GetFileName(temp)) is not null)
                problems.Add($"{Path.GetRelativePath(output, temp).Replace(Path.DirectorySeparatorChar, '/')}: a temporary file left by an interrupted write");
        return new VerificationResult(checkedCount, problems, notes, levels) { Quality = QualitySummary.Of(quality) };
    }
}
