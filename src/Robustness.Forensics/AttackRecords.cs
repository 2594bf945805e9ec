using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Robustness.Data;
using Robustness.IO;
using Robustness.Models;
using Robustness.Validation;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Forensics;

/// <summary>How the attack records are made.</summary>
public sealed record AttackRecordOptions
{
    /// <summary>Images attacked on every victim (the first of a seeded shuffle of the images given; all when fewer).</summary>
    public int Images { get; init; } = 1000;

    /// <summary>Images per attack batch.</summary>
    public int BatchSize { get; init; } = 250;

    /// <summary>Seed of the image choice, the splits and the attacks.</summary>
    public int Seed { get; init; }

    /// <summary>Share of the images in the validation split (split by image).</summary>
    public double ValidationFraction { get; init; } = 0.1;

    /// <summary>Share of the images in the test split (split by image).</summary>
    public double TestFraction { get; init; } = 0.2;

    /// <summary>Share of the dense networks (architecture x kernel x activation, all their sparsities together) held out (split by victim).</summary>
    public double HeldOutVictimFraction { get; init; } = 0.2;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first setting out of range.</summary>
    public AttackRecordOptions Validate()
    {
        Require.AtLeast(Images, 1, nameof(Images));
        Require.BatchSize(BatchSize, nameof(BatchSize));
        Require.InRange(ValidationFraction, 0, 0.9, nameof(ValidationFraction));
        Require.InRange(TestFraction, 0, 0.9, nameof(TestFraction));
        if (ValidationFraction + TestFraction >= 1)
            throw new ArgumentOutOfRangeException(nameof(TestFraction), TestFraction, "ValidationFraction + TestFraction must leave images to train on.");
        Require.InRange(HeldOutVictimFraction, 0, 0.9, nameof(HeldOutVictimFraction));
        return this;
    }
}

/// <summary>One shard of the record set: every attacked image of one victim under one attack setting (a line of <c>index.jsonl</c>).</summary>
/// <param name="Victim">The victim's id.</param>
/// <param name="Attributes">The victim's attributes (what model parsing predicts).</param>
/// <param name="Attack">The attack type.</param>
/// <param name="Setting">The setting's label (<see cref="RecordedAttack.Label"/>).</param>
/// <param name="EpsilonPixels">The l-inf budget in 1/255 units, or null (CW-l2).</param>
/// <param name="File">The shard, relative to the record folder.</param>
/// <param name="Count">Records in the shard (one per attacked image, in the order of <c>clean.safetensors</c>).</param>
/// <param name="FooledRate">Share of the shard's images the victim misclassifies.</param>
/// <param name="Seconds">Wall time of the attack.</param>
public sealed record AttackShard(string Victim, VictimAttributes Attributes, string Attack, string Setting, double? EpsilonPixels, string File, int Count,
    double FooledRate, double Seconds);

/// <summary>The splits of a record set: by image (train/validation/test image indices) and by victim (held-out victim ids).</summary>
public sealed record RecordSplits(IReadOnlyList<int> TrainImages, IReadOnlyList<int> ValidationImages, IReadOnlyList<int> TestImages,
    IReadOnlyList<string> TrainVictims, IReadOnlyList<string> HeldOutVictims);

/// <summary>
/// Model parsing's dataset on disk (RED-adv's attack records): <c>clean.safetensors</c> (the attacked images, uint8 NCHW,
/// their labels and their index in the source folder), <c>splits.json</c>, one shard per victim and attack setting
/// (<c>shards/&lt;victim&gt;/&lt;setting&gt;.safetensors</c>: the adversarial images float32 NCHW, exact, and the victim's
/// predictions on the clean and adversarial images) and <c>index.jsonl</c> (one <see cref="AttackShard"/> per line).
/// </summary>
public sealed class AttackRecordSet
{
    /// <summary>The index file.</summary>
    public const string IndexFile = "index.jsonl";

    private AttackRecordSet(string folder, IReadOnlyList<AttackShard> shards, RecordSplits splits)
    {
        Folder = folder;
        Shards = shards;
        Splits = splits;
    }

    /// <summary>The record folder.</summary>
    public string Folder { get; }

    /// <summary>The shards finished.</summary>
    public IReadOnlyList<AttackShard> Shards { get; }

    /// <summary>The splits.</summary>
    public RecordSplits Splits { get; }

    /// <summary>Opens the record set in <paramref name="folder"/>.</summary>
    public static AttackRecordSet Open(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        string splits = Path.Combine(folder, "splits.json");
        if (!File.Exists(splits)) throw new ArgumentException($"'{folder}' holds no attack records (no splits.json).", nameof(folder));
        return new AttackRecordSet(folder, ReadIndex(folder), JsonSerializer.Deserialize<RecordSplits>(File.ReadAllText(splits), ZooIndex.Json)!);
    }

    /// <summary>The clean images (float32 NCHW in [0, 1]) and labels (int64), in shard row order.</summary>
    public (Tensor Images, Tensor Labels) Clean()
    {
        var (tensors, _) = SafeTensors.Load(Path.Combine(Folder, "clean.safetensors"));
        using var pixels = tensors["images"];
        using var sourceIndex = tensors["source_index"];
        using var scale = (1.0 / 255).ToScalar();
        return (pixels.to(ScalarType.Float32).mul(scale), tensors["labels"]);
    }

    /// <summary>A shard's adversarial images (float32 NCHW) and the victim's predictions (int64) on the clean and the adversarial images.</summary>
    public (Tensor Adversarial, Tensor CleanPredictions, Tensor AdversarialPredictions) Read(AttackShard shard)
    {
        ArgumentNullException.ThrowIfNull(shard);
        var (tensors, _) = SafeTensors.Load(Path.Combine(Folder, shard.File));
        return (tensors["adversarial"], tensors["clean_predictions"], tensors["adversarial_predictions"]);
    }

    internal static List<AttackShard> ReadIndex(string folder)
    {
        string path = Path.Combine(folder, IndexFile);
        return File.Exists(path)
            ? [.. File.ReadLines(path).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<AttackShard>(l, ZooIndex.Json)!)]
            : [];
    }
}

/// <summary>
/// Attacks every victim of a zoo with every setting and keeps the adversarial examples as an <see cref="AttackRecordSet"/>,
/// resumably: a shard is written atomically and then indexed; a rerun skips indexed shards. The same images are attacked
/// on every victim (all of them, as RED-adv does, correctly classified or not: the parser sees what an attacker sends).
/// </summary>
public sealed class AttackRecorder
{
    /// <summary>A recorder of <paramref name="attacks"/>.</summary>
    public AttackRecorder(IReadOnlyList<RecordedAttack> attacks, AttackRecordOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(attacks);
        if (attacks.Count == 0) throw new ArgumentException("Record at least one attack setting.", nameof(attacks));
        foreach (var a in attacks)
        {
            if (!RecordedAttack.Types.Contains(a.Attack))
                throw new ArgumentOutOfRangeException(nameof(attacks), a.Attack, $"Recorded attacks are {string.Join(", ", RecordedAttack.Types)}.");
            a.Build(0); // checks the settings now, not after hours of other shards
        }
        if (attacks.Select(a => a.Label).Distinct().Count() != attacks.Count) throw new ArgumentException("Two attack settings have the same label.", nameof(attacks));
        Attacks = attacks;
        Options = (options ?? new AttackRecordOptions()).Validate();
    }

    /// <summary>The settings recorded.</summary>
    public IReadOnlyList<RecordedAttack> Attacks { get; }

    /// <summary>The options.</summary>
    public AttackRecordOptions Options { get; }

    /// <summary>
    /// Attacks the victims of the zoo in <paramref name="zooFolder"/> on <paramref name="images"/> (their classes must be
    /// the victims') and writes the records to <paramref name="folder"/>. Returns the record set. <paramref name="select"/>
    /// picks the victims from the zoo's (e.g. <see cref="VictimGrid.LatinFraction"/>); all of them when null. The held-out
    /// victims are drawn over the selected victims, again whenever they change.
    /// </summary>
    public AttackRecordSet Record(string zooFolder, ImageSet images, string folder, IProgress<AttackShard>? progress = null,
        CancellationToken cancellationToken = default, Func<IReadOnlyList<VictimRecord>, IReadOnlyList<VictimRecord>>? select = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        var zoo = ZooIndex.Read(zooFolder) ?? throw new ArgumentException($"'{zooFolder}' holds no victim zoo (no {ZooIndex.FileName}).", nameof(zooFolder));
        if (select is not null) zoo = zoo with { Victims = select(zoo.Victims) };
        if (zoo.Victims.Count == 0) throw new ArgumentException($"The zoo in '{zooFolder}' has no victims yet.", nameof(zooFolder));
        var o = Options;
        Directory.CreateDirectory(folder);

        // The attacked images: the first o.Images of a seeded shuffle, in source order; written once, checked on resume.
        var order = Enumerable.Range(0, images.Count).ToArray();
        new Random(o.Seed).Shuffle(order);
        var chosen = order.Take(Math.Min(o.Images, images.Count)).Order().ToArray();
        var attacked = images.Subset(chosen);
        string cleanPath = Path.Combine(folder, "clean.safetensors");
        if (File.Exists(cleanPath))
        {
            var (tensors, _) = SafeTensors.Load(cleanPath);
            bool same = tensors["source_index"].data<long>().ToArray().SequenceEqual(chosen.Select(i => (long)i));
            foreach (var t in tensors.Values) t.Dispose();
            if (!same) throw new InvalidOperationException($"'{folder}' holds records of other images; use a new folder.");
        }
        else
        {
            using var scope = torch.NewDisposeScope();
            var pixels = torch.tensor(attacked.Pixels.ToArray(), [attacked.Count, attacked.Channels, attacked.Height, attacked.Width], ScalarType.Byte);
            SafeTensors.Save(cleanPath, new Dictionary<string, Tensor>
            {
                ["images"] = pixels, ["labels"] = attacked.LabelsTensor(0, attacked.Count), ["source_index"] = torch.tensor(chosen.Select(i => (long)i).ToArray()),
            }, new Dictionary<string, string> { ["classes"] = string.Join(",", attacked.ClassNames) });
        }

        // The splits follow the victims: a zoo that grew since the last run (a stopped run resumed, a fraction completed)
        // gets its held-out victims drawn again over all of them. The image splits depend only on the image count and the
        // seed, so they never change.
        string splitsPath = Path.Combine(folder, "splits.json");
        var splits = Splits(attacked.Count, zoo);
        var written = File.Exists(splitsPath) ? JsonSerializer.Deserialize<RecordSplits>(File.ReadAllText(splitsPath), ZooIndex.Json) : null;
        if (written is null || !written.TrainVictims.Concat(written.HeldOutVictims).ToHashSet().SetEquals(splits.TrainVictims.Concat(splits.HeldOutVictims)))
            AtomicFile.WriteAllText(splitsPath, JsonSerializer.Serialize(splits, ZooIndex.Json));

        var shards = AttackRecordSet.ReadIndex(folder);
        var done = shards.Select(s => s.File).ToHashSet();
        foreach (var record in zoo.Victims)
        {
            var todo = Attacks.Where(a => !done.Contains(ShardFile(record.Id, a))).ToList();
            if (todo.Count == 0) continue;
            using var victim = Classifier.Load(Path.Combine(zooFolder, record.File));
            victim.Eval();
            if (!victim.ClassNames.SequenceEqual(attacked.ClassNames))
                throw new ArgumentException($"Victim {record.Id} classifies {string.Join(",", victim.ClassNames)}; the images are of {string.Join(",", attacked.ClassNames)}.", nameof(images));
            Directory.CreateDirectory(Path.Combine(folder, "shards", record.Id));
            foreach (var setting in todo)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var shard = Attack(folder, record, setting, victim, attacked, cancellationToken);
                shards.Add(shard);
                AtomicFile.WriteAllText(Path.Combine(folder, AttackRecordSet.IndexFile),
                    string.Concat(shards.Select(s => JsonSerializer.Serialize(s, ZooIndex.JsonLine) + "\n")));
                progress?.Report(shard);
            }
        }
        return AttackRecordSet.Open(folder);
    }

    private static string ShardFile(string victim, RecordedAttack setting) => Path.Combine("shards", victim, setting.Label + ".safetensors");

    private AttackShard Attack(string folder, VictimRecord record, RecordedAttack setting, Classifier victim, ImageSet images, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var attack = setting.Build(Options.Seed);
        using var scope = torch.NewDisposeScope();
        var adversarial = torch.empty([images.Count, images.Channels, images.Height, images.Width], ScalarType.Float32);
        var cleanPredictions = torch.empty(images.Count, ScalarType.Int64);
        var adversarialPredictions = torch.empty(images.Count, ScalarType.Int64);
        for (int start = 0; start < images.Count; start += Options.BatchSize)
        {
            using var batchScope = torch.NewDisposeScope();
            int n = Math.Min(Options.BatchSize, images.Count - start);
            var x = images.ToTensor(start, n, victim.Device);
            var y = images.LabelsTensor(start, n, victim.Device);
            var xAdv = attack.Run(victim, x, y, cancellationToken);
            adversarial.narrow(0, start, n).copy_(xAdv.cpu());
            cleanPredictions.narrow(0, start, n).copy_(victim.Predict(x).cpu());
            adversarialPredictions.narrow(0, start, n).copy_(victim.Predict(xAdv).cpu());
        }
        string file = ShardFile(record.Id, setting);
        SafeTensors.Save(Path.Combine(folder, file), new Dictionary<string, Tensor>
        {
            ["adversarial"] = adversarial, ["clean_predictions"] = cleanPredictions, ["adversarial_predictions"] = adversarialPredictions,
        }, new Dictionary<string, string> { ["victim"] = record.Id, ["attack"] = setting.Attack, ["setting"] = setting.Label });
        using var labels = images.LabelsTensor(0, images.Count);
        double fooled = adversarialPredictions.ne(labels).to(ScalarType.Float32).mean().item<float>();
        return new AttackShard(record.Id, record.Attributes, setting.Attack, setting.Label, setting.EpsilonPixels, file, images.Count, fooled, clock.Elapsed.TotalSeconds);
    }

    // By image: a seeded shuffle cut into train / validation / test. By victim: a seeded share of the dense networks held
    // out with all their sparsities (so a held-out victim's architecture, kernel and activation combination is unseen).
    private RecordSplits Splits(int images, ZooIndex zoo)
    {
        var o = Options;
        var random = new Random(o.Seed + 1);
        var order = Enumerable.Range(0, images).ToArray();
        random.Shuffle(order);
        int test = (int)Math.Round(o.TestFraction * images), validation = (int)Math.Round(o.ValidationFraction * images);
        var groups = zoo.Victims.Select(v => v.Attributes.DenseId).Distinct().ToArray();
        random.Shuffle(groups);
        var heldOutGroups = groups.Take((int)Math.Round(o.HeldOutVictimFraction * groups.Length)).ToHashSet();
        return new RecordSplits(
            [.. order.Skip(test + validation).Order()], [.. order.Skip(test).Take(validation).Order()], [.. order.Take(test).Order()],
            [.. zoo.Victims.Where(v => !heldOutGroups.Contains(v.Attributes.DenseId)).Select(v => v.Id)],
            [.. zoo.Victims.Where(v => heldOutGroups.Contains(v.Attributes.DenseId)).Select(v => v.Id)]);
    }
}
