using System.Globalization;
using System.Text.Json;
using Robustness.Models;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Robustness;

/// <summary>
/// The model contract of Robustness: a TorchSharp network, its input normalisation, its class names and its
/// device. Inputs are always float32 images [N, C, H, W] with values in [0, 1]; the classifier normalises them
/// itself, so no technique ever handles normalised pixels. Saved as safetensors with metadata, so
/// <see cref="Load"/> needs nothing but the file, and PyTorch reads the same file as a plain state dict.
/// </summary>
public sealed class Classifier : IDisposable
{
    /// <summary>Metadata key prefix used in saved files.</summary>
    public const string MetadataPrefix = "robustness.";

    private Tensor _mean;
    private Tensor _std;
    private bool _disposed;

    /// <summary>
    /// Wraps an existing network (moved to <paramref name="device"/>, CPU by default). <paramref name="family"/> is what
    /// <see cref="Clone"/>, pruning's defaults and <see cref="Macs"/> use; null looks <c>spec.Architecture</c> up among
    /// the built-in families, and a network of no known family still classifies, attacks and trains but cannot be cloned.
    /// </summary>
    public Classifier(Module<Tensor, Tensor> network, ModelSpec spec, Normalization normalization,
        IReadOnlyList<string>? classNames = null, Device? device = null, ModelFamily? family = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(normalization);
        spec.Validate();
        if (family is not null && !string.Equals(family.Name, spec.Architecture, StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"family is '{family.Name}' but the spec names architecture '{spec.Architecture}'.", nameof(family));
        if (normalization.Channels != spec.InputChannels)
            throw new ArgumentException($"normalization has {normalization.Channels} channels but the model takes {spec.InputChannels}.", nameof(normalization));
        classNames ??= Enumerable.Range(0, spec.Classes).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
        if (classNames.Count != spec.Classes)
            throw new ArgumentException($"classNames has {classNames.Count} entries but the model has {spec.Classes} classes.", nameof(classNames));
        Network = network;
        Spec = spec;
        Family = family ?? ModelFamilyRegistry.BuiltIn.TryGet(spec.Architecture);
        Normalization = normalization;
        ClassNames = classNames.ToArray();
        Device = device ?? torch.CPU;
        Network.to(Device);
        (_mean, _std) = normalization.CreateTensors(Device);
    }

    /// <summary>
    /// Builds a freshly initialised zoo network; <paramref name="seed"/> makes the initial weights reproducible (also
    /// under concurrent use of TorchSharp's global generator for networks implementing
    /// <see cref="IReproducibleInitialisation"/>, which every built-in zoo network does). A seed also seeds the
    /// global generator, as before.
    /// </summary>
    /// <remarks><paramref name="families"/> is where the architecture is looked up: the host's registry
    /// (<c>AddRobustness()</c> with its modules) or, when null, the built-in families.</remarks>
    public static Classifier Create(ModelSpec spec, Normalization? normalization = null, IReadOnlyList<string>? classNames = null,
        Device? device = null, long? seed = null, ModelFamilyRegistry? families = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        var family = (families ?? ModelFamilyRegistry.BuiltIn).Get(spec.Architecture);
        if (seed is long s) torch.random.manual_seed(s);
        var network = family.Build(spec);
        // Building draws from the process-wide generator, which other threads may use at the same moment; zoo
        // networks redraw their weights from a private generator so that a seed alone fixes them.
        if (seed is long fixedSeed && network is IReproducibleInitialisation reproducible)
        {
            using var generator = new Generator(unchecked((ulong)fixedSeed));
            reproducible.ResetParameters(generator);
        }
        return new Classifier(network, spec, normalization ?? Normalization.Identity(spec.InputChannels), classNames, device, family);
    }

    /// <summary>The wrapped network; it takes normalised inputs. Prefer <see cref="Forward"/>.</summary>
    public Module<Tensor, Tensor> Network { get; }

    /// <summary>What the network is.</summary>
    public ModelSpec Spec { get; }

    /// <summary>The family that built the network, or null for a network wrapped without one (see the constructor).</summary>
    public ModelFamily? Family { get; }

    /// <summary>Multiply-accumulates of one forward pass on one image (<see cref="ModelFamily.Macs"/>).</summary>
    public long Macs => RequireFamily("count its MACs").Macs(Network, Spec);

    /// <summary>The normalisation applied to [0,1] inputs before the network.</summary>
    public Normalization Normalization { get; }

    /// <summary>Class names, index = label.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Number of classes.</summary>
    public int Classes => Spec.Classes;

    /// <summary>The device the network lives on.</summary>
    public Device Device { get; private set; }

    /// <summary>True when the network is in training mode (batch-norm statistics update, dropout active).</summary>
    public bool IsTraining => Network.training;

    /// <summary>Number of parameters (weights and biases, not buffers).</summary>
    public long ParameterCount => Network.parameters().Sum(p => p.numel());

    /// <summary>Normalises images in [0,1].</summary>
    public Tensor Normalize(Tensor images)
    {
        CheckImages(images);
        // Under ChannelsLastInputs the network gets the same values with NHWC strides, so that oneDNN runs its
        // convolutions channels-last (the gradient flows back through the relayout to the images as they came).
        var input = Volatile.Read(ref _channelsLastInputs) > 0 ? Runtime.ChannelsLast.Of(images) : images;
        if (Normalization.IsIdentity) return ReferenceEquals(input, images) ? images.alias() : input;
        using var owned = ReferenceEquals(input, images) ? null : input;
        return (input - _mean) / _std;
    }

    private int _channelsLastInputs;

    /// <summary>
    /// Until disposed, <see cref="Normalize"/> (and so every forward pass) hands the network its input with NHWC strides:
    /// the same values and shape, so the same results up to floating-point order, but CPU convolutions run channels-last
    /// without oneDNN's reorders to and from its blocked layout. Nests and counts; the weights are not touched, so an
    /// optimizer or a graph waiting for its backward pass is unaffected (a forward pass that another thread makes on
    /// this classifier meanwhile also gets NHWC strides: the same values). Callers decide where it applies
    /// (<see cref="Runtime.ChannelsLast.Applies"/>).
    /// </summary>
    internal IDisposable ChannelsLastInputs()
    {
        Interlocked.Increment(ref _channelsLastInputs);
        return new ChannelsLastInputsHold(this);
    }

    private sealed class ChannelsLastInputsHold(Classifier owner) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) Interlocked.Decrement(ref owner._channelsLastInputs);
        }
    }

    /// <summary>Logits [N, Classes] for float32 images [N, C, H, W] in [0,1] on <see cref="Device"/>.</summary>
    public Tensor Forward(Tensor images) => Network.forward(Normalize(images));

    /// <summary>
    /// Every output of one forward pass: the logits and, for an <see cref="IMultiOutputNetwork"/>, its auxiliary
    /// outputs (early exits, token decisions); a single-output network gives its logits and no auxiliary output.
    /// </summary>
    public NetworkOutputs ForwardOutputs(Tensor images) => Network is IMultiOutputNetwork multi
        ? multi.ForwardOutputs(Normalize(images))
        : NetworkOutputs.LogitsOnly(Forward(images));

    /// <summary>The penultimate features [N, F] for images in [0,1] (zoo networks implement <see cref="IClassifierNetwork"/>).</summary>
    public Tensor Features(Tensor images) => FeatureNetwork.Features(Normalize(images));

    /// <summary>The network as an <see cref="IClassifierNetwork"/>, or an exception naming its type.</summary>
    public IClassifierNetwork FeatureNetwork => Network as IClassifierNetwork
        ?? throw new NotSupportedException($"Network {Network.GetType().Name} does not expose penultimate features (IClassifierNetwork).");

    /// <summary>Predicted labels (int64 [N]) without gradients and without changing the train/eval mode.</summary>
    public Tensor Predict(Tensor images)
    {
        using var _ = torch.no_grad();
        return Forward(images).argmax(1);
    }

    /// <summary>Puts the network in training mode.</summary>
    public void Train() => Network.train();

    /// <summary>Puts the network in evaluation mode.</summary>
    public void Eval() => Network.eval();

    /// <summary>Switches to evaluation mode and restores the previous mode when disposed.</summary>
    public IDisposable EvalMode() => new ModeRestorer(this, training: false);

    /// <summary>Switches to training mode and restores the previous mode when disposed.</summary>
    public IDisposable TrainMode() => new ModeRestorer(this, training: true);

    /// <summary>Switches to <paramref name="mode"/> and restores the previous mode when disposed (<see cref="ModelMode.Unchanged"/> switches nothing).</summary>
    public IDisposable Mode(ModelMode mode) => mode switch
    {
        ModelMode.Eval => EvalMode(),
        ModelMode.Train => TrainMode(),
        ModelMode.Unchanged => new ModeRestorer(this, IsTraining),
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "mode must be Eval, Train or Unchanged."),
    };

    /// <summary>A deep copy (weights, buffers, mode) on <paramref name="device"/> (default: the same device).</summary>
    public Classifier Clone(Device? device = null)
    {
        var family = RequireFamily("clone it");
        var network = family.Build(Spec);
        var copy = new Classifier(network, Spec, Normalization, ClassNames, device ?? Device, family);
        copy.CopyWeightsFrom(this);
        if (IsTraining) copy.Train(); else copy.Eval();
        return copy;
    }

    /// <summary>Copies every parameter and buffer from <paramref name="source"/>, which must have the same architecture.</summary>
    public void CopyWeightsFrom(Classifier source)
    {
        ArgumentNullException.ThrowIfNull(source);
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var mine = Network.state_dict();
        var theirs = source.Network.state_dict();
        // Check everything before copying anything, so a mismatch leaves this network untouched.
        foreach (var (name, target) in mine)
        {
            if (!theirs.TryGetValue(name, out var value))
                throw new ArgumentException($"Source lacks '{name}', which this network has.", nameof(source));
            if (!value.shape.SequenceEqual(target.shape))
                throw new ArgumentException($"Source '{name}' has shape [{string.Join(", ", value.shape)}], this network [{string.Join(", ", target.shape)}].", nameof(source));
        }
        foreach (var name in theirs.Keys)
            if (!mine.ContainsKey(name))
                throw new ArgumentException($"Source has '{name}', which this network lacks.", nameof(source));
        foreach (var (name, target) in mine) target.copy_(theirs[name]);
    }

    /// <summary>Moves the network to <paramref name="device"/>.</summary>
    public Classifier To(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        Network.to(device);
        _mean.Dispose();
        _std.Dispose();
        (_mean, _std) = Normalization.CreateTensors(device);
        Device = device;
        return this;
    }

    /// <summary>
    /// Prefix of auxiliary tensors in a model file: what a technique stores beside the network's own tensors (a
    /// multi-ratio network's per-ratio batch norm). <see cref="LoadWeights"/> skips them, so such a file still loads as
    /// the model it holds.
    /// </summary>
    public const string AuxiliaryPrefix = "aux/";

    /// <summary>
    /// Saves weights and buffers as safetensors (parameter names as in PyTorch) with the metadata needed to
    /// rebuild the classifier: architecture, shape, classes, normalisation. Atomic.
    /// </summary>
    public void Save(string path) => Save(path, auxiliary: null, metadata: null);

    /// <summary>
    /// <see cref="Save(string)"/> plus <paramref name="auxiliary"/> tensors (names must start with <see cref="AuxiliaryPrefix"/>)
    /// and further <paramref name="metadata"/> (keys must not be the classifier's own).
    /// </summary>
    public void Save(string path, IReadOnlyDictionary<string, Tensor>? auxiliary, IReadOnlyDictionary<string, string>? metadata)
    {
        var own = Metadata();
        foreach (var (key, value) in metadata ?? new Dictionary<string, string>())
            if (!own.TryAdd(key, value)) throw new ArgumentException($"Metadata key '{key}' is the classifier's own.", nameof(metadata));
        var tensors = new Dictionary<string, Tensor>(Network.state_dict());
        foreach (var (name, tensor) in auxiliary ?? new Dictionary<string, Tensor>())
        {
            if (!name.StartsWith(AuxiliaryPrefix, StringComparison.Ordinal))
                throw new ArgumentException($"Auxiliary tensor '{name}' must be named '{AuxiliaryPrefix}...'.", nameof(auxiliary));
            tensors.Add(name, tensor);
        }
        SafeTensors.Save(path, tensors, own);
    }

    private Dictionary<string, string> Metadata()
    {
        var metadata = new Dictionary<string, string>
        {
            ["format"] = "pt",
            [MetadataPrefix + "architecture"] = Spec.Architecture,
            [MetadataPrefix + "classes"] = Spec.Classes.ToString(CultureInfo.InvariantCulture),
            [MetadataPrefix + "width"] = Spec.Width.ToString(CultureInfo.InvariantCulture),
            [MetadataPrefix + "depth"] = Spec.Depth.ToString(CultureInfo.InvariantCulture),
            [MetadataPrefix + "widen_factor"] = Spec.WidenFactor.ToString(CultureInfo.InvariantCulture),
            [MetadataPrefix + "input_channels"] = Spec.InputChannels.ToString(CultureInfo.InvariantCulture),
            [MetadataPrefix + "image_size"] = Spec.ImageSize.ToString(CultureInfo.InvariantCulture),
            [MetadataPrefix + "mean"] = JsonSerializer.Serialize(Normalization.Mean),
            [MetadataPrefix + "std"] = JsonSerializer.Serialize(Normalization.Std),
            [MetadataPrefix + "class_names"] = JsonSerializer.Serialize(ClassNames),
        };
        // Written only when there are any, so files of the built-in CNNs stay as they were.
        if (Spec.Parameters.Count > 0) metadata[MetadataPrefix + "parameters"] = Spec.Parameters.ToJson();
        return metadata;
    }

    /// <summary>
    /// Loads a classifier saved by <see cref="Save(string)"/> (or any safetensors file with the same metadata). The
    /// architecture is looked up in <paramref name="families"/>: the host's registry, which knows its modules'
    /// families, or, when null, the built-in ones.
    /// </summary>
    public static Classifier Load(string path, Device? device = null, ModelFamilyRegistry? families = null)
    {
        var metadata = SafeTensors.ReadMetadata(path);
        string Get(string key) => metadata.TryGetValue(MetadataPrefix + key, out var v)
            ? v
            : throw new InvalidDataException($"'{path}' has no '{MetadataPrefix}{key}' metadata; bring plain state dicts (PyTorch's) in with 'robustness import' or Classifier.FromStateDict / Classifier.Create(spec, ...).LoadWeights(path).");
        int Int(string key) => int.TryParse(Get(key), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v)
            ? v
            : throw new InvalidDataException($"'{path}' metadata '{MetadataPrefix}{key}' is not an integer.");
        T Json<T>(string key)
        {
            try { return JsonSerializer.Deserialize<T>(Get(key)) ?? throw new InvalidDataException($"'{path}' metadata '{MetadataPrefix}{key}' is empty."); }
            catch (JsonException e) { throw new InvalidDataException($"'{path}' metadata '{MetadataPrefix}{key}' is not valid JSON.", e); }
        }

        var parameters = metadata.TryGetValue(MetadataPrefix + "parameters", out var parametersJson)
            ? Checked(() =>
            {
                try { return ModelParameters.Parse(parametersJson); }
                catch (JsonException e) { throw new ArgumentException(e.Message, "parameters", e); }
            })
            : ModelParameters.Empty;
        var spec = new ModelSpec(Get("architecture"), Int("classes"), Int("width"), Int("depth"), Int("widen_factor"), Int("input_channels"), Int("image_size"))
        {
            Parameters = parameters,
        };
        float[] mean = Json<float[]>("mean"), std = Json<float[]>("std");
        var normalization = Checked(() => new Normalization(mean, std));
        var classNames = Json<string[]>("class_names");
        var family = Checked(() => (families ?? ModelFamilyRegistry.BuiltIn).Get(spec.Architecture));
        var classifier = Checked(() => new Classifier(family.Build(spec.Validate()), spec, normalization, classNames, family: family));

        // Metadata that parses but describes no valid model (unknown architecture, bad depth, mismatched
        // channels) is a problem of the file, not of the caller's arguments.
        T Checked<T>(Func<T> build)
        {
            try { return build(); }
            catch (ArgumentException e) { throw new InvalidDataException($"'{path}' metadata describes no valid model: {e.Message}", e); }
        }
        return Loaded(classifier, c => c.LoadWeights(path), device);
    }

    // Fills a freshly built classifier, puts it in eval mode on its device, and disposes of it if filling fails.
    private static Classifier Loaded(Classifier classifier, Action<Classifier> load, Device? device)
    {
        try
        {
            load(classifier);
            classifier.Eval();
            if (device is not null) classifier.To(device);
            return classifier;
        }
        catch
        {
            classifier.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Loads weights and buffers from a state dict file: safetensors (e.g. PyTorch's <c>save_file(model.state_dict())</c>
    /// or a file saved here) or a <c>torch.save</c> file (.pth/.pt), read by <see cref="StateDictFile"/>, which also
    /// unwraps checkpoints (<paramref name="key"/> picks the nested dictionary) and DataParallel's <c>module.</c> prefix.
    /// Every tensor of the network must be present with the same shape; anything else raises a
    /// <see cref="StateDictMismatchException"/> listing all differences. Auxiliary tensors (<see cref="AuxiliaryPrefix"/>)
    /// are skipped.
    /// </summary>
    public void LoadWeights(string path, string? key = null)
    {
        var tensors = StateDictFile.Read(path, key);
        try { LoadStateDict(tensors, path); }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    /// <summary>
    /// Copies <paramref name="stateDict"/> (names as PyTorch's <c>state_dict()</c>; any dtype and device, converted) into
    /// the network. It must match exactly: the <see cref="StateDictMismatchException"/> lists every missing, unexpected
    /// and mis-shaped name. Nothing is copied unless everything fits. <paramref name="source"/> names the weights in messages.
    /// </summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> stateDict, string source = "the state dict")
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        using var _ = torch.no_grad();
        var mine = Network.state_dict();
        var missing = mine.Keys.Where(k => !stateDict.ContainsKey(k)).ToArray();
        var unexpected = stateDict.Keys.Where(k => !mine.ContainsKey(k) && !k.StartsWith(AuxiliaryPrefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray();
        var misShaped = mine.Where(kv => stateDict.TryGetValue(kv.Key, out var s) && !s.shape.SequenceEqual(kv.Value.shape))
            .Select(kv => new ShapeMismatch(kv.Key, stateDict[kv.Key].shape, kv.Value.shape)).ToArray();
        if (missing.Length > 0 || unexpected.Length > 0 || misShaped.Length > 0)
            throw new StateDictMismatchException(source, Describe(), missing, unexpected, misShaped);
        foreach (var (name, target) in mine)
        {
            using var converted = stateDict[name].to(target.dtype, target.device);
            target.copy_(converted);
        }
    }

    /// <summary>
    /// A classifier of the zoo architecture <paramref name="spec"/> with the weights of <paramref name="stateDict"/> (e.g.
    /// from <see cref="StateDictFile.Read"/>), in eval mode: the way to bring a PyTorch model. The state dict must fit
    /// exactly (see <see cref="LoadStateDict"/>); the caller keeps ownership of its tensors.
    /// </summary>
    public static Classifier FromStateDict(IReadOnlyDictionary<string, Tensor> stateDict, ModelSpec spec, Normalization normalization,
        IReadOnlyList<string>? classNames = null, Device? device = null, ModelFamilyRegistry? families = null, string source = "the state dict")
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        ArgumentNullException.ThrowIfNull(normalization);
        return Loaded(Create(spec, normalization, classNames, families: families), c => c.LoadStateDict(stateDict, source), device);
    }

    /// <summary>
    /// Wraps any TorchSharp network that maps normalised images [N, C, H, W] (C = the normalisation's channels) to logits
    /// [N, <paramref name="classes"/>]: every attack, evaluation, SEP and training then works on it. Such a classifier has
    /// no zoo family, so it cannot be cloned, pruned by family rules or reloaded by <see cref="Load"/> (save its
    /// weights and rebuild the network yourself); its architecture is recorded as <c>custom:TypeName</c>.
    /// </summary>
    public static Classifier Wrap(Module<Tensor, Tensor> network, int classes, Normalization normalization,
        IReadOnlyList<string>? classNames = null, int imageSize = 32, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(normalization);
        var spec = new ModelSpec(CustomArchitecturePrefix + network.GetType().Name, classes, InputChannels: normalization.Channels, ImageSize: imageSize);
        return new Classifier(network, spec, normalization, classNames, device);
    }

    /// <summary>The architecture prefix of networks given to <see cref="Wrap"/>.</summary>
    public const string CustomArchitecturePrefix = "custom:";

    private string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{Spec.Architecture} (width {Spec.Width}{(Spec.Depth > 0 ? $", depth {Spec.Depth}" : "")}, {Spec.Classes} classes)");

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _mean.Dispose();
        _std.Dispose();
        Network.Dispose();
    }

    private ModelFamily RequireFamily(string purpose) => Family ?? throw new NotSupportedException(
        $"This classifier wraps a {Network.GetType().Name} of no registered family ('{Spec.Architecture}'); pass its ModelFamily to the constructor to {purpose}.");

    private void CheckImages(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.dim() != 4 || images.shape[1] != Spec.InputChannels)
            throw new ArgumentException($"images must be [N, {Spec.InputChannels}, H, W]; got [{string.Join(", ", images.shape)}].", nameof(images));
        if (images.dtype != ScalarType.Float32)
            throw new ArgumentException($"images must be float32 in [0,1]; got {images.dtype}.", nameof(images));
    }

    private sealed class ModeRestorer : IDisposable
    {
        private readonly Classifier _owner;
        private readonly bool _wasTraining;

        public ModeRestorer(Classifier owner, bool training)
        {
            _owner = owner;
            _wasTraining = owner.IsTraining;
            if (training) owner.Train(); else owner.Eval();
        }

        public void Dispose()
        {
            if (_wasTraining) _owner.Train(); else _owner.Eval();
        }
    }
}
