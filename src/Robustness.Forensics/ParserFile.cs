using System.Globalization;
using System.Text.Json;
using Robustness.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Forensics;

/// <summary>What a parser says about one attack: the most likely value of each attribute and its probability.</summary>
/// <param name="Attributes">Attribute names.</param>
/// <param name="Values">The predicted value per attribute.</param>
/// <param name="Probabilities">The softmax probability of that value per attribute.</param>
public sealed record ParsedAttack(IReadOnlyList<string> Attributes, IReadOnlyList<string> Values, IReadOnlyList<double> Probabilities);

/// <summary>
/// A trained parser as one file (safetensors): the network's weights under <c>parser.</c>, the denoiser's under
/// <c>denoiser.</c> when it parses x' - D(x'), and in the metadata the attribute schema, the backbone and the input kind,
/// so <see cref="Load"/> rebuilds it and <see cref="Parse"/> applies it to a user's images.
/// </summary>
public sealed class ParserFile : IDisposable
{
    private const string SchemaKey = "forensics.schema", BackboneKey = "forensics.backbone", InputKey = "forensics.input",
        SizeKey = "forensics.image_size", DenoiserKey = "forensics.denoiser";

    /// <summary>Wraps a trained <paramref name="network"/> seeing <paramref name="input"/> (with <paramref name="denoiser"/> for <see cref="ParsingInput.Denoised"/>).</summary>
    public ParserFile(ModelParsingNetwork network, ParsingInput input, int imageSize, DnCnn? denoiser = null, DenoiserOptions? denoiserOptions = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        if ((input == ParsingInput.Denoised) != (denoiser is not null))
            throw new ArgumentException("A parser of denoised inputs needs its denoiser, and only it has one.", nameof(denoiser));
        Network = network;
        Input = input;
        ImageSize = imageSize;
        Denoiser = denoiser;
        DenoiserOptions = denoiserOptions ?? new DenoiserOptions();
    }

    /// <summary>The parsing network.</summary>
    public ModelParsingNetwork Network { get; }

    /// <summary>What it sees.</summary>
    public ParsingInput Input { get; }

    /// <summary>The image size it was trained on (square).</summary>
    public int ImageSize { get; }

    /// <summary>The denoiser of <see cref="ParsingInput.Denoised"/>, or null.</summary>
    public DnCnn? Denoiser { get; }

    /// <summary>The denoiser's shape (depth and width are what <see cref="Load"/> needs).</summary>
    public DenoiserOptions DenoiserOptions { get; }

    /// <summary>
    /// Trains a parser on every training-split image of <paramref name="records"/> (all attacks, all victims), with a
    /// denoiser first when <paramref name="input"/> is <see cref="ParsingInput.Denoised"/>.
    /// </summary>
    public static ParserFile Train(AttackRecordSet records, ParsingOptions? options = null, ParsingInput input = ParsingInput.Perturbation, bool successfulOnly = true,
        DenoiserOptions? denoiserOptions = null, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        var schema = AttributeSchema.Of(records.Shards.Select(s => s.Attributes));
        var images = records.Splits.TrainImages;
        DnCnn? denoiser = null;
        if (input == ParsingInput.Denoised)
        {
            denoiserOptions = (denoiserOptions ?? new DenoiserOptions()).Validate();
            denoiser = denoiserOptions.Train(records, schema, images, successfulOnly, progress, cancellationToken);
        }
        var data = denoiser is null
            ? ParsingData.From(records, schema, _ => true, images, input, successfulOnly)
            : ParsingData.Denoised(records, schema, _ => true, images, denoiser, successfulOnly);
        using (data)
        {
            var parser = new ModelParser(options);
            progress?.Report($"training the parser ({parser.Options.DescribeTraining(data.Count)}; {string.Join(", ", schema.Names)})");
            var network = parser.Train(data, new SyncProgress<(int Epoch, double Loss, TimeSpan Duration)>(e =>
                progress?.Report(string.Create(CultureInfo.InvariantCulture, $"epoch {e.Epoch + 1}/{parser.Options.Epochs}: loss {e.Loss:F3}, {e.Duration.TotalSeconds:F1} s"))), cancellationToken);
            return new ParserFile(network, input, (int)data.Inputs.shape[2], denoiser, denoiserOptions);
        }
    }

    /// <summary>Writes the parser to <paramref name="path"/> (atomically, as every safetensors file).</summary>
    public void Save(string path)
    {
        var tensors = new Dictionary<string, Tensor>();
        foreach (var (name, t) in Network.state_dict()) tensors["parser." + name] = t;
        if (Denoiser is not null) foreach (var (name, t) in Denoiser.state_dict()) tensors["denoiser." + name] = t;
        var metadata = new Dictionary<string, string>
        {
            [SchemaKey] = JsonSerializer.Serialize(Network.Schema),
            [BackboneKey] = Network.Kind.ToString(),
            [InputKey] = Input.ToString(),
            [SizeKey] = ImageSize.ToString(CultureInfo.InvariantCulture),
        };
        if (Denoiser is not null) metadata[DenoiserKey] = string.Create(CultureInfo.InvariantCulture, $"{DenoiserOptions.Depth},{DenoiserOptions.Width}");
        SafeTensors.Save(path, tensors, metadata);
    }

    /// <summary>Reads a parser written by <see cref="Save"/>.</summary>
    public static ParserFile Load(string path)
    {
        var (tensors, metadata) = SafeTensors.Load(path);
        try
        {
            if (!metadata.TryGetValue(SchemaKey, out var schemaJson))
                throw new ArgumentException($"'{path}' is not a model parser (no {SchemaKey} in its metadata).", nameof(path));
            var schema = JsonSerializer.Deserialize<AttributeSchema>(schemaJson)!;
            var backbone = Enum.Parse<ParsingBackbone>(metadata[BackboneKey]);
            var input = Enum.Parse<ParsingInput>(metadata[InputKey]);
            int size = int.Parse(metadata[SizeKey], CultureInfo.InvariantCulture);
            var network = new ModelParsingNetwork(schema, backbone, 3, size);
            network.load_state_dict(tensors.Where(kv => kv.Key.StartsWith("parser.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key["parser.".Length..], kv => kv.Value));
            network.eval();
            DnCnn? denoiser = null;
            DenoiserOptions? options = null;
            if (metadata.TryGetValue(DenoiserKey, out var shape))
            {
                var parts = shape.Split(',');
                options = new DenoiserOptions { Depth = int.Parse(parts[0], CultureInfo.InvariantCulture), Width = int.Parse(parts[1], CultureInfo.InvariantCulture) };
                denoiser = new DnCnn(options.Depth, options.Width);
                denoiser.load_state_dict(tensors.Where(kv => kv.Key.StartsWith("denoiser.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key["denoiser.".Length..], kv => kv.Value));
                denoiser.eval();
            }
            return new ParserFile(network, input, size, denoiser, options);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    /// <summary>
    /// Parses <paramref name="adversarial"/> (float32 NCHW in [0, 1] at <see cref="ImageSize"/>); a perturbation parser
    /// needs the <paramref name="clean"/> images too, the others ignore them.
    /// </summary>
    public IReadOnlyList<ParsedAttack> Parse(Tensor adversarial, Tensor? clean = null)
    {
        ArgumentNullException.ThrowIfNull(adversarial);
        if (adversarial.dim() != 4 || adversarial.shape[2] != ImageSize || adversarial.shape[3] != ImageSize)
            throw new ArgumentException($"The parser takes [N, 3, {ImageSize}, {ImageSize}] images; got [{string.Join(", ", adversarial.shape)}].", nameof(adversarial));
        if (Input == ParsingInput.Perturbation && clean is null)
            throw new ArgumentException("This parser reads the perturbation x' - x: give the clean images too.", nameof(clean));
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var input = Input switch
        {
            ParsingInput.Perturbation => adversarial.sub(clean!),
            ParsingInput.Denoised => Denoiser!.Residual(adversarial),
            _ => adversarial,
        };
        var heads = Network.Split(Network.call(input));
        var schema = Network.Schema;
        var results = new List<ParsedAttack>();
        var probabilities = heads.Select(h => h.softmax(1)).ToArray();
        for (int i = 0; i < adversarial.shape[0]; i++)
        {
            var values = new List<string>();
            var p = new List<double>();
            for (int a = 0; a < schema.Names.Count; a++)
            {
                var row = probabilities[a][i];
                int best = (int)row.argmax().item<long>();
                values.Add(schema.Values[a][best]);
                p.Add(row[best].item<float>());
            }
            results.Add(new ParsedAttack(schema.Names, values, p));
        }
        return results;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Network.Dispose();
        Denoiser?.Dispose();
    }
}
