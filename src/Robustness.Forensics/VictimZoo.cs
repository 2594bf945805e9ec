using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Robustness.Data;
using Robustness.IO;
using Robustness.Models;
using Robustness.Pruning;
using Robustness.Training;
using TorchSharp;

namespace Robustness.Forensics;

/// <summary>One trained victim: its attributes, where it is saved, and what it measured.</summary>
/// <param name="Id">The victim's id (<see cref="VictimAttributes.Id"/>).</param>
/// <param name="Attributes">What it is.</param>
/// <param name="File">Its model file, relative to the zoo folder.</param>
/// <param name="TestAccuracy">Clean accuracy on the test images (NaN when none were given).</param>
/// <param name="ConvSparsity">Measured share of zero convolution weights.</param>
/// <param name="Seconds">Wall time of its retraining (its dense network's training is recorded on the first victim of the group).</param>
public sealed record VictimRecord(string Id, VictimAttributes Attributes, string File, double TestAccuracy, double ConvSparsity, double Seconds);

/// <summary>What the zoo builder is doing: victim <paramref name="Index"/> of <paramref name="Total"/>, and the stage.</summary>
/// <param name="Index">0-based index of the victim in the grid.</param>
/// <param name="Total">Victims in the grid.</param>
/// <param name="Id">The victim (or its dense network while that trains).</param>
/// <param name="Stage"><c>dense</c>, <c>retrain</c>, <c>done</c> or <c>kept</c> (already in the folder).</param>
/// <param name="Record">The finished victim, for <c>done</c> and <c>kept</c>.</param>
public sealed record VictimProgress(int Index, int Total, string Id, string Stage, VictimRecord? Record = null);

/// <summary>The zoo folder's index (<c>zoo.json</c>): the settings it was built with and the victims finished so far.</summary>
public sealed record ZooIndex(string Settings, IReadOnlyList<VictimRecord> Victims)
{
    /// <summary>The index file's name in a zoo folder.</summary>
    public const string FileName = "zoo.json";

    // NaN stands for "not measured" (a victim's accuracy without test images), so named floating-point literals are allowed.
    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, Converters = { new JsonStringEnumConverter() }, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    internal static readonly JsonSerializerOptions JsonLine = new()
    {
        Converters = { new JsonStringEnumConverter() }, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Reads the index of <paramref name="folder"/>, or null when it has none.</summary>
    public static ZooIndex? Read(string folder)
    {
        string path = Path.Combine(folder, FileName);
        return File.Exists(path) ? JsonSerializer.Deserialize<ZooIndex>(File.ReadAllText(path), Json) : null;
    }

    internal void Write(string folder) => AtomicFile.WriteAllText(Path.Combine(folder, FileName), JsonSerializer.Serialize(this, Json));
}

/// <summary>
/// Builds model parsing's victim zoo (RED-adv) into a folder, resumably: for every architecture x kernel size x
/// activation of the <see cref="VictimGrid"/>, trains the dense network once (SGD, cosine, crop-flip), keeps its weights
/// after <see cref="VictimGrid.RewindEpoch"/> epochs, then for every sparsity prunes the trained network's convolutions
/// by one global magnitude threshold (<see cref="MaskSet.ByGlobalMagnitude"/>; classifier and batch norm untouched, as
/// RED-adv prunes), rewinds the kept weights to the early epoch and retrains with the mask (the lottery-ticket
/// rewinding of RED-adv's <c>omp</c>). Each victim is saved as <c>victims/&lt;id&gt;.safetensors</c> with its attributes
/// in the metadata, and indexed in <c>zoo.json</c>, each file written atomically (<see cref="AtomicFile"/>); a second run with the same settings
/// trains only what is missing, and one with other settings is refused. One dense network is shared by the
/// sparsities of its group (RED-adv trains it again for each): the same recipe, a third of the dense epochs.
/// </summary>
public sealed class VictimZoo
{
    /// <summary>The metadata keys a victim file carries.</summary>
    public const string ArchitectureKey = "victim.architecture", KernelKey = "victim.kernel_size", ActivationKey = "victim.activation", SparsityKey = "victim.sparsity";

    /// <summary>A zoo of <paramref name="grid"/> (validated), trained with <paramref name="seed"/>.</summary>
    public VictimZoo(VictimGrid grid, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(grid);
        Grid = grid.Validate();
        Seed = seed;
    }

    /// <summary>The grid.</summary>
    public VictimGrid Grid { get; }

    /// <summary>The seed of every victim's initialisation, batches and augmentation.</summary>
    public int Seed { get; }

    /// <summary>
    /// Trains the victims of the grid not yet in <paramref name="folder"/> on <paramref name="train"/> and measures them on
    /// <paramref name="test"/> (optional). <paramref name="normalization"/> is built into every victim (default: the
    /// training images' channel statistics). Cancellation stops between epochs; what was saved stays valid.
    /// </summary>
    public ZooIndex Build(ImageSet train, ImageSet? test, string folder, Normalization? normalization = null,
        IProgress<VictimProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Build(train, test, folder, Grid.Victims(), normalization, progress, cancellationToken);

    /// <summary>
    /// As <see cref="Build(ImageSet, ImageSet?, string, Normalization?, IProgress{VictimProgress}?, CancellationToken)"/>,
    /// training only <paramref name="selected"/> (victims of the grid, e.g. its <see cref="VictimGrid.LatinFraction"/>);
    /// the zoo keeps whatever it already holds, so a later run with the whole grid trains the rest.
    /// </summary>
    public ZooIndex Build(ImageSet train, ImageSet? test, string folder, IReadOnlyList<VictimAttributes> selected, Normalization? normalization = null,
        IProgress<VictimProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        if (test is not null && !test.ClassNames.SequenceEqual(train.ClassNames))
            throw new ArgumentException("The test images' classes differ from the training images'.", nameof(test));
        if (train.Height != train.Width) throw new ArgumentException($"Victims take square images; the training images are {train.Width}x{train.Height}.", nameof(train));
        Directory.CreateDirectory(Path.Combine(folder, "victims"));
        Directory.CreateDirectory(Path.Combine(folder, "dense"));
        string settings = Settings(train);
        var existing = ZooIndex.Read(folder);
        if (existing is not null && existing.Settings != settings)
            throw new InvalidOperationException($"'{folder}' holds a zoo built with other settings ({existing.Settings}); these are ({settings}). Use a new folder.");
        var records = (existing?.Victims ?? []).ToDictionary(r => r.Id);
        var norm = normalization ?? ChannelStatistics.Of(train);
        ArgumentNullException.ThrowIfNull(selected);
        var victims = Grid.Victims();
        var foreign = selected.Except(victims).FirstOrDefault();
        if (foreign is not null) throw new ArgumentException($"Victim {foreign.Id} is not in the grid.", nameof(selected));

        int index = 0;
        foreach (var group in selected.GroupBy(v => v.DenseId))
        {
            var todo = group.Where(v => !records.ContainsKey(v.Id) || !File.Exists(Path.Combine(folder, records[v.Id].File))).ToList();
            foreach (var kept in group.Except(todo)) progress?.Report(new VictimProgress(index++, selected.Count, kept.Id, "kept", records[kept.Id]));
            if (todo.Count == 0) continue;

            var spec = Grid.SpecOf(todo[0]).ToModelSpec(train.ClassNames.Count, train.Channels, train.Height);
            progress?.Report(new VictimProgress(index, selected.Count, group.Key, "dense"));
            var (densePath, rewindPath) = Dense(folder, group.Key, spec, norm, train, cancellationToken);
            using var dense = Classifier.Load(densePath);
            foreach (var victim in todo)
            {
                cancellationToken.ThrowIfCancellationRequested();
                progress?.Report(new VictimProgress(index, selected.Count, victim.Id, "retrain"));
                var record = Retrain(folder, victim, dense, rewindPath, train, test, cancellationToken);
                records[victim.Id] = record;
                new ZooIndex(settings, [.. victims.Where(v => records.ContainsKey(v.Id)).Select(v => records[v.Id])]).Write(folder);
                progress?.Report(new VictimProgress(index++, selected.Count, victim.Id, "done", record));
            }
        }
        var finished = new ZooIndex(settings, [.. victims.Where(v => records.ContainsKey(v.Id)).Select(v => records[v.Id])]);
        finished.Write(folder);
        return finished;
    }

    /// <summary>Reads the attributes a victim file (written by the zoo) carries in its metadata.</summary>
    public static VictimAttributes AttributesOf(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var m = SafeTensors.ReadMetadata(path);
        if (!m.TryGetValue(ArchitectureKey, out var architecture))
            throw new ArgumentException($"'{path}' carries no victim attributes (not written by the victim zoo).", nameof(path));
        return new VictimAttributes(architecture, int.Parse(m[KernelKey], CultureInfo.InvariantCulture),
            Enum.Parse<ActivationKind>(m[ActivationKey], ignoreCase: true), double.Parse(m[SparsityKey], CultureInfo.InvariantCulture));
    }

    // The dense network of a group and its early weights, trained once and kept in dense/ (so a kill loses at most one group's dense run).
    private (string Dense, string Rewind) Dense(string folder, string id, ModelSpec spec, Normalization norm, ImageSet train, CancellationToken cancellationToken)
    {
        string dense = Path.Combine(folder, "dense", id + ".safetensors"), rewind = Path.Combine(folder, "dense", id + ".rewind.safetensors");
        if (File.Exists(dense) && File.Exists(rewind)) return (dense, rewind);
        using var model = Classifier.Create(spec, norm, train.ClassNames, seed: Seed);
        if (Grid.RewindEpoch == 0) model.Save(rewind);
        var options = Recipe(Grid.Epochs) with
        {
            Checkpoints = Grid.RewindEpoch == 0 ? CheckpointSchedule.None : CheckpointSchedule.AtEpochs([Grid.RewindEpoch - 1]),
        };
        var result = new Trainer(options).Train(model, train, cancellationToken: cancellationToken);
        using (var checkpoints = result.Checkpoints)
        {
            if (Grid.RewindEpoch > 0)
            {
                using var early = checkpoints!.Load(Grid.RewindEpoch - 1);
                early.Save(rewind);
            }
        }
        model.Save(dense);
        return (dense, rewind);
    }

    private VictimRecord Retrain(string folder, VictimAttributes victim, Classifier dense, string rewindPath, ImageSet train, ImageSet? test,
        CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var model = Classifier.Load(rewindPath);
        using var masks = MaskSet.ByGlobalMagnitude(Convolutions(dense), victim.Sparsity);
        masks.Apply(model);
        new Trainer(Recipe(Grid.RetrainEpochs), update: masks).Train(model, train, cancellationToken: cancellationToken);
        model.Eval();
        double accuracy = test is null ? double.NaN : new Evaluator().Evaluate(model, test, cancellationToken).Accuracy;
        double sparsity = MeasuredSparsity(model);
        string file = Path.Combine("victims", victim.Id + ".safetensors");
        var metadata = new Dictionary<string, string>
        {
            [ArchitectureKey] = victim.Architecture,
            [KernelKey] = victim.KernelSize.ToString(CultureInfo.InvariantCulture),
            [ActivationKey] = victim.Activation.ToString().ToLowerInvariant(),
            [SparsityKey] = victim.Sparsity.ToString("R", CultureInfo.InvariantCulture),
        };
        model.Save(Path.Combine(folder, file), auxiliary: null, metadata);
        return new VictimRecord(victim.Id, victim, file, accuracy, sparsity, clock.Elapsed.TotalSeconds);
    }

    /// <summary>The convolution weights of <paramref name="model"/>: what the victim zoo prunes (RED-adv prunes every Conv2d, nothing else).</summary>
    public static IReadOnlyList<PrunableParameter> Convolutions(Classifier model) =>
        [.. PrunableParameters.Select(model).Where(p => p.Weight.dim() == 4)];

    /// <summary>The share of zero convolution weights of <paramref name="model"/>.</summary>
    public static double MeasuredSparsity(Classifier model)
    {
        var convolutions = Convolutions(model);
        long total = convolutions.Sum(p => p.Weight.numel());
        long zeros = convolutions.Sum(p => p.Weight.numel() - p.Weight.count_nonzero().item<long>());
        return (double)zeros / total;
    }

    private TrainingOptions Recipe(int epochs) => new()
    {
        Epochs = epochs, BatchSize = Grid.BatchSize, LearningRate = Grid.LearningRate, Momentum = 0.9, WeightDecay = 5e-4,
        Schedule = new CosineLearningRate(epochs), Augmentation = ComposedAugmentation.Cifar(), Seed = Seed,
        Checkpoints = CheckpointSchedule.None, EvaluationInterval = epochs, ProgressInterval = int.MaxValue,
    };

    // What must match for a folder to be resumed: the grid's every setting, the seed and the training images.
    private string Settings(ImageSet train)
    {
        var g = Grid;
        return string.Create(CultureInfo.InvariantCulture,
            $"widths {string.Join(",", g.Widths.Select(kv => $"{kv.Key}={kv.Value}"))}; kernels {string.Join(",", g.KernelSizes)}; activations {string.Join(",", g.Activations)}; " +
            $"sparsities {string.Join(",", g.Sparsities)}; epochs {g.Epochs}+{g.RetrainEpochs}, rewind {g.RewindEpoch}, lr {g.LearningRate}, batch {g.BatchSize}; seed {Seed}; " +
            $"{train.Count} training images {train.Width}x{train.Height}x{train.Channels}, classes {string.Join(",", train.ClassNames)}");
    }
}
