using System.Text.Json;
using System.Text.Json.Serialization;
using Robustness.Validation;

namespace Robustness.Models;

/// <summary>What one block of a stage is.</summary>
public enum BlockKind
{
    /// <summary>One convolution, batch norm and activation (VGG's unit).</summary>
    Plain,

    /// <summary>Two k x k convolutions with batch norm, added to the input or its 1x1 projection (ResNet-18's BasicBlock).</summary>
    Basic,

    /// <summary>1x1 reduce to the mid width, k x k, 1x1 expand, added to the input or its projection (ResNet-50's Bottleneck).</summary>
    Bottleneck,

    /// <summary>1x1 expand to the mid width, depthwise k x k, linear 1x1 project; residual when shape is kept (MobileNetV2).</summary>
    InvertedResidual,

    /// <summary>Pre-activation pair of k x k convolutions (WideResNet's block); a network of these ends with batch norm and activation.</summary>
    PreActBasic,
}

/// <summary>An activation function of a stage or stem.</summary>
public enum ActivationKind
{
    /// <summary>max(0, x).</summary>
    Relu,

    /// <summary>tanh(x).</summary>
    Tanh,

    /// <summary>ELU with alpha 1.</summary>
    Elu,

    /// <summary>GELU (exact).</summary>
    Gelu,

    /// <summary>SiLU / swish.</summary>
    Silu,

    /// <summary>Hard swish (MobileNetV3, EfficientFormer).</summary>
    Hardswish,
}

/// <summary>How the head turns the last feature map into a vector.</summary>
public enum HeadPooling
{
    /// <summary>Global average pooling: the feature is the last stage's width (ResNets).</summary>
    GlobalAverage,

    /// <summary>Flatten the map: the feature is width x height x width (CIFAR VGG, whose map is 1x1 at 32x32).</summary>
    Flatten,
}

/// <summary>The first convolution, before the stages.</summary>
/// <param name="Width">Output channels.</param>
/// <param name="KernelSize">Odd kernel size.</param>
/// <param name="Stride">1 or 2.</param>
/// <param name="Normalised">Batch norm and activation after the convolution (false: a bare conv, as in WideResNet whose blocks pre-activate).</param>
/// <param name="Activation">The activation when <paramref name="Normalised"/>.</param>
public sealed record StemSpec(int Width, int KernelSize = 3, int Stride = 1, bool Normalised = true, ActivationKind Activation = ActivationKind.Relu);

/// <summary>One stage: <paramref name="Depth"/> blocks of one kind; the first block takes the stride and the width change.</summary>
/// <param name="Block">The block kind.</param>
/// <param name="Width">Output channels of every block in the stage.</param>
/// <param name="Depth">Number of blocks.</param>
/// <param name="KernelSize">Odd kernel size of the blocks' spatial convolutions.</param>
/// <param name="Stride">Stride of the first block (1 or 2).</param>
/// <param name="Activation">Activation inside the blocks.</param>
/// <param name="Expansion">Bottleneck: width / mid width (4 in ResNet-50); inverted residual: mid width / input width (6 in
/// MobileNetV2); ignored by the other kinds, whose mid width is the stage width.</param>
/// <param name="MidWidth">The blocks' inner width, overriding what <paramref name="Expansion"/> gives (0 = derived). A network
/// sliced to fewer channels records its inner widths here.</param>
/// <param name="PoolAfter">A 2x2 max-pool after the stage (VGG's downsampling).</param>
/// <param name="Bias">Convolutions with a bias (VGG's); residual kinds have none before batch norm.</param>
public sealed record StageSpec(
    BlockKind Block,
    int Width,
    int Depth,
    int KernelSize = 3,
    int Stride = 1,
    ActivationKind Activation = ActivationKind.Relu,
    double Expansion = 1,
    int MidWidth = 0,
    bool PoolAfter = false,
    bool Bias = false)
{
    /// <summary>The inner width of a block whose input has <paramref name="input"/> channels.</summary>
    public int MidWidthFor(int input) => MidWidth > 0 ? MidWidth : Block switch
    {
        BlockKind.Bottleneck => Math.Max(1, (int)Math.Round(Width / Expansion)),
        BlockKind.InvertedResidual => Math.Max(1, (int)Math.Round(input * Expansion)),
        _ => Width,
    };
}

/// <summary>The classifier head after the last stage.</summary>
/// <param name="Pooling">How the last map becomes the feature vector.</param>
public sealed record HeadSpec(HeadPooling Pooling = HeadPooling.GlobalAverage);

/// <summary>How the spec's parameters are named, which follows from its blocks (see <see cref="ArchSpec.Layout"/>).</summary>
public enum ArchLayout
{
    /// <summary>All stages plain: one <c>features</c> Sequential of conv, BN, activation and pools, then <c>classifier</c> (CIFAR VGG's names).</summary>
    Sequential,

    /// <summary>Residual stages: <c>conv1</c>, <c>bn1</c>, <c>layerN.i.*</c>, <c>linear</c> (the CIFAR ResNet names most robustness code uses).</summary>
    Residual,

    /// <summary>Pre-activation stages: <c>conv1</c>, <c>blockN.layer.i.*</c>, <c>bn1</c>, <c>fc</c> (WideResNet's names in TRADES and RobustBench).</summary>
    PreActivation,
}

/// <summary>
/// A CNN described as data: an optional stem, stages of blocks (plain, basic or bottleneck residual, inverted residual,
/// pre-activation; each with width, depth, kernel size, stride, activation and expansion) and a head. The
/// <c>arch-spec</c> family builds it (<see cref="SpecNetwork"/>) with the parameter names of the PyTorch layout it
/// follows, so the specs of ResNet-18, VGG and WideResNet (<see cref="ArchSpecs"/>) build networks whose state dicts
/// are the zoo's own; it serialises to JSON (<see cref="ToJson"/>), which is how a saved model records it. The
/// victim zoo of model parsing (kernel 3/5/7, ReLU/tanh/ELU), DeepMAD's solver output and EfficientFormerV2's search
/// space are specs.
/// </summary>
public sealed record ArchSpec(StemSpec? Stem, IReadOnlyList<StageSpec> Stages, HeadSpec? Head = null)
{
    /// <summary>The name of the model parameter that holds the spec in an <c>arch-spec</c> <see cref="ModelSpec"/>.</summary>
    public const string ParameterName = "spec";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        WriteIndented = false,
    };

    /// <summary>The head, <see cref="HeadSpec"/>'s defaults when none was given.</summary>
    public HeadSpec HeadOrDefault => Head ?? new HeadSpec();

    /// <summary>The naming layout, from the blocks: all plain is <see cref="ArchLayout.Sequential"/>, pre-activation is
    /// <see cref="ArchLayout.PreActivation"/>, anything else <see cref="ArchLayout.Residual"/>.</summary>
    public ArchLayout Layout =>
        Stages.All(s => s.Block == BlockKind.Plain) ? ArchLayout.Sequential
        : Stages.Any(s => s.Block == BlockKind.PreActBasic) ? ArchLayout.PreActivation
        : ArchLayout.Residual;

    /// <summary>Channels of the feature map the head pools (the last stage's width).</summary>
    public int LastWidth => Stages[^1].Width;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first field out of range.</summary>
    public ArchSpec Validate()
    {
        if (Stages is null || Stages.Count == 0)
            throw new ArgumentOutOfRangeException(nameof(Stages), Stages?.Count ?? 0, "An architecture spec needs at least one stage.");
        if (Stem is not null)
        {
            Require.AtLeast(Stem.Width, 1, "Stem.Width");
            CheckKernel(Stem.KernelSize, "Stem.KernelSize");
            CheckStride(Stem.Stride, "Stem.Stride");
            CheckActivation(Stem.Activation, "Stem.Activation");
        }
        for (int i = 0; i < Stages.Count; i++)
        {
            var stage = Stages[i] ?? throw new ArgumentNullException($"Stages[{i}]");
            string at = $"Stages[{i}]";
            if (!Enum.IsDefined(stage.Block))
                throw new ArgumentOutOfRangeException($"{at}.Block", stage.Block, $"Block must be one of: {string.Join(", ", Enum.GetNames<BlockKind>())}.");
            Require.AtLeast(stage.Width, 1, $"{at}.Width");
            Require.AtLeast(stage.Depth, 1, $"{at}.Depth");
            CheckKernel(stage.KernelSize, $"{at}.KernelSize");
            CheckStride(stage.Stride, $"{at}.Stride");
            CheckActivation(stage.Activation, $"{at}.Activation");
            Require.Positive(stage.Expansion, $"{at}.Expansion");
            Require.AtLeast(stage.MidWidth, 0, $"{at}.MidWidth", "0 = derived from Width and Expansion");
            if (stage.Bias && stage.Block != BlockKind.Plain)
                throw new ArgumentOutOfRangeException($"{at}.Bias", stage.Bias, "Only plain stages have convolution biases (residual kinds put batch norm after every conv).");
        }
        if (Layout == ArchLayout.PreActivation)
        {
            int other = Stages.ToList().FindIndex(s => s.Block != BlockKind.PreActBasic);
            if (other >= 0)
                throw new ArgumentOutOfRangeException($"Stages[{other}].Block", Stages[other].Block,
                    "A spec with PreActBasic stages must use PreActBasic in every stage (their network ends with its own batch norm).");
            if (Stem is null || Stem.Normalised)
                throw new ArgumentOutOfRangeException(nameof(Stem), Stem,
                    "A pre-activation network needs a bare stem convolution (Normalised = false): its first block normalises.");
        }
        if (Layout == ArchLayout.Residual && Stem is null)
            throw new ArgumentOutOfRangeException(nameof(Stem), null, "A residual network needs a stem.");
        var head = HeadOrDefault;
        if (!Enum.IsDefined(head.Pooling))
            throw new ArgumentOutOfRangeException("Head.Pooling", head.Pooling, $"Pooling must be one of: {string.Join(", ", Enum.GetNames<HeadPooling>())}.");
        return this;
    }

    /// <summary>Height and width of the last feature map for square inputs of <paramref name="imageSize"/> pixels.</summary>
    public int OutputSize(int imageSize)
    {
        int size = imageSize;
        if (Stem is not null) size = ConvolvedSize(size, Stem.KernelSize, Stem.Stride);
        foreach (var stage in Stages)
        {
            size = ConvolvedSize(size, stage.KernelSize, stage.Stride);
            if (stage.PoolAfter) size /= 2;
        }
        return size;
    }

    /// <summary>The spec as compact camel-case JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads <see cref="ToJson"/>'s output (or a hand-written file in the same shape) and validates it.</summary>
    public static ArchSpec Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArchSpec? spec;
        try { spec = JsonSerializer.Deserialize<ArchSpec>(json, Json); }
        catch (JsonException e) { throw new ArgumentException($"Not an architecture spec: {e.Message}", nameof(json), e); }
        if (spec?.Stages is null) throw new ArgumentException("Not an architecture spec: it has no \"stages\".", nameof(json));
        return spec.Validate();
    }

    /// <summary>The <c>arch-spec</c> model spec for this architecture: the zoo reads the spec from its parameters.</summary>
    public ModelSpec ToModelSpec(int classes = 10, int inputChannels = 3, int imageSize = 32) =>
        new ModelSpec(SpecNetwork.FamilyName, classes, InputChannels: inputChannels, ImageSize: imageSize)
        {
            Parameters = ModelParameters.FromJson([KeyValuePair.Create(ParameterName, Validate().ToJson())]),
        };

    /// <summary>The architecture spec a <c>arch-spec</c> model spec carries.</summary>
    public static ArchSpec From(ModelSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (!spec.Parameters.TryGetValue(ParameterName, out var json))
            throw new ArgumentOutOfRangeException(nameof(ModelSpec.Parameters), spec.Parameters.ToJson(),
                $"An '{SpecNetwork.FamilyName}' model needs its architecture in the '{ParameterName}' parameter (ArchSpec.ToModelSpec writes it).");
        return Parse(json);
    }

    /// <inheritdoc />
    public bool Equals(ArchSpec? other) =>
        other is not null && Equals(Stem, other.Stem) && HeadOrDefault == other.HeadOrDefault && Stages.SequenceEqual(other.Stages);

    /// <inheritdoc />
    public override int GetHashCode() => ToJson().GetHashCode(StringComparison.Ordinal);

    private static int ConvolvedSize(int size, int kernel, int stride) => (size + 2 * (kernel / 2) - kernel) / stride + 1;

    private static void CheckKernel(int kernel, string name)
    {
        if (kernel < 1 || kernel > 11 || kernel % 2 == 0)
            throw new ArgumentOutOfRangeException(name, kernel, $"{name} must be an odd number from 1 to 11 (padding keeps the size).");
    }

    private static void CheckStride(int stride, string name)
    {
        if (stride is not (1 or 2)) throw new ArgumentOutOfRangeException(name, stride, $"{name} must be 1 or 2.");
    }

    private static void CheckActivation(ActivationKind activation, string name)
    {
        if (!Enum.IsDefined(activation))
            throw new ArgumentOutOfRangeException(name, activation, $"{name} must be one of: {string.Join(", ", Enum.GetNames<ActivationKind>())}.");
    }
}
