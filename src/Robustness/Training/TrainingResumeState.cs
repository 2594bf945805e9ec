using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Robustness.IO;
using TorchSharp;

namespace Robustness.Training;

/// <summary>
/// What a <see cref="Trainer"/> needs, beside a checkpoint's weights, to continue a killed run exactly as if it had
/// never stopped: the optimizer's momentum buffers and the augmentation generator's state after the last checkpointed
/// epoch (the shuffling generator is replayed from the seed, which is cheap). Kept in a folder, usually the checkpoint
/// folder, and rewritten after every checkpointed epoch: <c>training-state.json</c> lists the saved epochs (the last
/// two) and a fingerprint of the run's settings and is written after their files, so a kill at any moment leaves a
/// state that matches the last checkpoint.
/// </summary>
public sealed class TrainingResumeState
{
    /// <summary>The file naming the saved epoch.</summary>
    public const string StateFileName = "training-state.json";

    private const string OptimizerFileName = "optimizer-state.bin", GeneratorFileName = "augmentation-generator.bin";
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Keeps the state in <paramref name="folder"/> (created when missing).</summary>
    public TrainingResumeState(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        Folder = Path.GetFullPath(folder);
    }

    /// <summary>Where the state lives.</summary>
    public string Folder { get; }

    /// <summary>
    /// A fingerprint of what decides a run's bytes (options, objective, sampler, image count, architecture): a state saved
    /// by a run with another fingerprint is never resumed.
    /// </summary>
    public static string Fingerprint(TrainingOptions options, ITrainingObjective objective, IBatchSampler sampler, int images, Classifier classifier)
    {
        ArgumentNullException.ThrowIfNull(options);
        string augmentation = Data.ComposedAugmentation.Describe(options.Augmentation);
        string text = string.Create(CultureInfo.InvariantCulture,
            $"{options.Epochs}|{options.BatchSize}|{options.LearningRate}|{options.Momentum}|{options.WeightDecay}|{options.Nesterov}|{options.Schedule}|{augmentation}|" +
            $"{options.Seed}|{options.Checkpoints}|{objective}|{sampler}|{images}|{classifier.Spec}|{classifier.ParameterCount}");
        return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)))[..24];
    }

    /// <summary>
    /// The epoch a run with <paramref name="fingerprint"/> can resume after, given the checkpoints it has written: the last
    /// epoch that has both its saved state and its checkpoint, provided no later checkpoint exists. Null when the run
    /// cannot resume (no state, another run's state, or the checkpoints and the state disagree).
    /// </summary>
    public int? ResumableEpoch(string fingerprint, CheckpointSet checkpoints)
    {
        ArgumentNullException.ThrowIfNull(checkpoints);
        if (checkpoints.Count == 0 || ReadRecord() is not { } record || record.Fingerprint != fingerprint) return null;
        int last = checkpoints.Epochs.Max();
        return record.Epochs.Contains(last) && HasFiles(last) ? last : null;
    }

    /// <summary>
    /// Saves the state after <paramref name="epoch"/>, before its checkpoint is written: the optimizer's and the
    /// generator's files, then the record listing this epoch and the previous one (so a kill between this and the
    /// checkpoint resumes from the previous one); older files are removed.
    /// </summary>
    internal void Save(int epoch, string fingerprint, TorchSharp.Modules.OptimizerHelper optimizer, torch.Generator augmentationGenerator)
    {
        Directory.CreateDirectory(Folder);
        string optimizerFile = Path.Combine(Folder, Name(OptimizerFileName, epoch));
        string temp = optimizerFile + ".tmp";
        optimizer.save_state_dict(temp);
        File.Move(temp, optimizerFile, overwrite: true);
        using (var state = augmentationGenerator.get_state())
        {
            var bytes = state.data<byte>().ToArray();
            AtomicFile.Write(Path.Combine(Folder, Name(GeneratorFileName, epoch)), stream => stream.Write(bytes));
        }
        var previous = ReadRecord() is { } old && old.Fingerprint == fingerprint ? old.Epochs.Where(e => e < epoch).DefaultIfEmpty(-1).Max() : -1;
        int[] kept = previous >= 0 ? [previous, epoch] : [epoch];
        AtomicFile.WriteAllText(Path.Combine(Folder, StateFileName), JsonSerializer.Serialize(new Record(kept, fingerprint), Json));
        foreach (string file in Directory.EnumerateFiles(Folder, "*.bin"))
        {
            string stem = Path.GetFileNameWithoutExtension(file);
            if (int.TryParse(stem[(stem.LastIndexOf('-') + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int e) && !kept.Contains(e))
                File.Delete(file);
        }
    }

    /// <summary>Loads the state saved after <paramref name="epoch"/> into <paramref name="optimizer"/> and <paramref name="augmentationGenerator"/>.</summary>
    internal void Load(int epoch, TorchSharp.Modules.OptimizerHelper optimizer, torch.Generator augmentationGenerator)
    {
        optimizer.load_state_dict(Path.Combine(Folder, Name(OptimizerFileName, epoch)));
        var bytes = File.ReadAllBytes(Path.Combine(Folder, Name(GeneratorFileName, epoch)));
        using var state = torch.tensor(bytes, torch.ScalarType.Byte);
        augmentationGenerator.set_state(state);
    }

    private static string Name(string file, int epoch) =>
        string.Create(CultureInfo.InvariantCulture, $"{Path.GetFileNameWithoutExtension(file)}-{epoch:D4}{Path.GetExtension(file)}");

    private bool HasFiles(int epoch) =>
        File.Exists(Path.Combine(Folder, Name(OptimizerFileName, epoch))) && File.Exists(Path.Combine(Folder, Name(GeneratorFileName, epoch)));

    private Record? ReadRecord()
    {
        string path = Path.Combine(Folder, StateFileName);
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<Record>(File.ReadAllText(path), Json);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private sealed record Record([property: JsonPropertyName("epochs")] int[] Epochs, [property: JsonPropertyName("fingerprint")] string Fingerprint);
}
