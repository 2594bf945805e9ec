using System.Diagnostics;
using System.Globalization;
using Robustness.Data;
using Robustness.Models;
using Robustness.Training;

namespace Robustness.Forensics;

/// <summary>
/// Registers models trained elsewhere (a user's own, or the library's pruned ones) as a victim zoo, so that
/// <c>forensics attacks</c> and <c>forensics evaluate</c> run on them as on the built zoo: each model is copied to
/// <c>victims/&lt;name&gt;.safetensors</c> with its attributes in the metadata and indexed in <c>zoo.json</c>. The
/// attributes are read from the file when it carries the zoo's (a zoo victim); otherwise the architecture is the model's
/// own, the conv weight sparsity is measured (rounded to 0.1%), and kernel size and activation are the ones given
/// (every built-in CNN: 3 and ReLU). An attribute every imported model shares is not parsed.
/// </summary>
public static class ZooImport
{
    /// <summary>The settings an imported zoo's index carries (a built zoo's folder is refused, and the other way round).</summary>
    public const string Settings = "imported";

    /// <summary>
    /// Imports <paramref name="models"/> (file paths; the file name without extension is the victim's id, so the names
    /// must differ) into <paramref name="folder"/>, measuring clean accuracy on <paramref name="test"/> when given.
    /// Importing again replaces the victims of the same names and keeps the others.
    /// </summary>
    public static ZooIndex Import(IReadOnlyList<string> models, string folder, ImageSet? test = null, int kernelSize = 3, ActivationKind activation = ActivationKind.Relu,
        IProgress<VictimRecord>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(models);
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        if (models.Count == 0) throw new ArgumentException("Import at least one model.", nameof(models));
        var ids = models.Select(m => Path.GetFileNameWithoutExtension(m)).ToList();
        var twice = ids.GroupBy(i => i).FirstOrDefault(g => g.Count() > 1);
        if (twice is not null) throw new ArgumentException($"Two models are named '{twice.Key}'; a victim's id is its file name, so the names must differ.", nameof(models));
        foreach (var m in models)
            if (!File.Exists(m)) throw new ArgumentException($"Model '{m}' does not exist.", nameof(models));
        var existing = ZooIndex.Read(folder);
        if (existing is not null && existing.Settings != Settings)
            throw new InvalidOperationException($"'{folder}' holds a zoo built by forensics zoo ({existing.Settings}); import into a new folder.");

        Directory.CreateDirectory(Path.Combine(folder, "victims"));
        var records = (existing?.Victims ?? []).Where(v => !ids.Contains(v.Id)).ToList();
        foreach (var (path, id) in models.Zip(ids))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var clock = Stopwatch.StartNew();
            using var model = Classifier.Load(path);
            model.Eval();
            if (test is not null && !model.ClassNames.SequenceEqual(test.ClassNames))
                throw new ArgumentException($"Model '{path}' classifies {string.Join(",", model.ClassNames)}; the test images are of {string.Join(",", test.ClassNames)}.", nameof(test));
            double sparsity = VictimZoo.MeasuredSparsity(model);
            var attributes = SafeTensors.ReadMetadata(path).ContainsKey(VictimZoo.ArchitectureKey)
                ? VictimZoo.AttributesOf(path)
                : new VictimAttributes(model.Spec.Architecture, kernelSize, activation, Math.Round(sparsity, 3));
            double accuracy = test is null ? double.NaN : new Evaluator().Evaluate(model, test, cancellationToken).Accuracy;
            string file = Path.Combine("victims", id + ".safetensors");
            model.Save(Path.Combine(folder, file), auxiliary: null, new Dictionary<string, string>
            {
                [VictimZoo.ArchitectureKey] = attributes.Architecture,
                [VictimZoo.KernelKey] = attributes.KernelSize.ToString(CultureInfo.InvariantCulture),
                [VictimZoo.ActivationKey] = attributes.Activation.ToString().ToLowerInvariant(),
                [VictimZoo.SparsityKey] = attributes.Sparsity.ToString("R", CultureInfo.InvariantCulture),
            });
            var record = new VictimRecord(id, attributes, file, accuracy, sparsity, clock.Elapsed.TotalSeconds);
            records.Add(record);
            new ZooIndex(Settings, records).Write(folder);
            progress?.Report(record);
        }
        return new ZooIndex(Settings, records);
    }
}
