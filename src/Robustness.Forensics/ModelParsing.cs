using System.Globalization;
using Robustness.Models;
using Robustness.Validation;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Robustness.Forensics;

/// <summary>What the parsing network sees of an attack (RED-adv's input types).</summary>
public enum ParsingInput
{
    /// <summary>The perturbation x' - x (the clean image is known: the oracle case).</summary>
    Perturbation,

    /// <summary>The adversarial image x' alone.</summary>
    Adversarial,

    /// <summary>The perturbation estimated without the clean image, x' - D(x'), by a DnCNN denoiser D trained on the training records (RED-adv's realistic case).</summary>
    Denoised,
}

/// <summary>The attributes parsed and their values, in a fixed order: a victim's label is the index of its value per attribute.</summary>
/// <param name="Names">Attribute names: <c>architecture</c>, <c>kernel</c>, <c>activation</c>, <c>sparsity</c>.</param>
/// <param name="Values">Each attribute's values as text, in order.</param>
public sealed record AttributeSchema(IReadOnlyList<string> Names, IReadOnlyList<IReadOnlyList<string>> Values)
{
    /// <summary>The schema of every attribute that varies among <paramref name="victims"/> (a constant one has nothing to parse).</summary>
    public static AttributeSchema Of(IEnumerable<VictimAttributes> victims)
    {
        ArgumentNullException.ThrowIfNull(victims);
        var list = victims.ToList();
        var names = new List<string>();
        var values = new List<IReadOnlyList<string>>();
        foreach (var (name, get) in Getters)
        {
            var distinct = list.Select(get).Distinct().ToList(); // in the order the victims give them (the grid's)
            if (distinct.Count < 2) continue;
            names.Add(name);
            values.Add(distinct);
        }
        if (names.Count == 0) throw new ArgumentException("The victims do not differ in any attribute: there is nothing to parse.", nameof(victims));
        return new AttributeSchema(names, values);
    }

    private static readonly (string Name, Func<VictimAttributes, string> Get)[] Getters =
    [
        ("architecture", v => v.Architecture),
        ("kernel", v => v.KernelSize.ToString(CultureInfo.InvariantCulture)),
        ("activation", v => v.Activation.ToString().ToLowerInvariant()),
        ("sparsity", v => v.Sparsity.ToString("0.###", CultureInfo.InvariantCulture)),
    ];

    /// <summary>Classes per attribute.</summary>
    public IReadOnlyList<int> Classes => [.. Values.Select(v => v.Count)];

    /// <summary>The label row of <paramref name="victim"/>: the index of its value for each attribute.</summary>
    public long[] Labels(VictimAttributes victim)
    {
        ArgumentNullException.ThrowIfNull(victim);
        return [.. Names.Select((name, i) =>
        {
            string value = Getters.Single(g => g.Name == name).Get(victim);
            int index = Values[i].ToList().IndexOf(value);
            return index >= 0 ? (long)index : throw new ArgumentException($"The victim's {name} '{value}' is not among {string.Join(", ", Values[i])}.", nameof(victim));
        })];
    }
}

/// <summary>Inputs and attribute labels for the parsing network, drawn from an <see cref="AttackRecordSet"/>.</summary>
/// <param name="Inputs">float32 [M, C, H, W].</param>
/// <param name="Labels">int64 [M, attributes].</param>
/// <param name="Schema">What the label columns are.</param>
public sealed record ParsingData(Tensor Inputs, Tensor Labels, AttributeSchema Schema) : IDisposable
{
    /// <summary>Examples.</summary>
    public long Count => Inputs.shape[0];

    /// <summary>
    /// The examples of <paramref name="records"/> whose shard passes <paramref name="shard"/>, on the images of
    /// <paramref name="images"/> (a split's indices), as <paramref name="input"/>. <paramref name="successfulOnly"/>
    /// keeps, as RED-adv does, only images the victim classified correctly and the attack fooled.
    /// </summary>
    public static ParsingData From(AttackRecordSet records, AttributeSchema schema, Func<AttackShard, bool> shard, IReadOnlyList<int> images,
        ParsingInput input = ParsingInput.Perturbation, bool successfulOnly = true)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(shard);
        ArgumentNullException.ThrowIfNull(images);
        if (input == ParsingInput.Denoised)
            throw new ArgumentException("Denoised inputs need a denoiser: use ParsingData.Denoised.", nameof(input));
        var (clean, labels) = records.Clean();
        using var cleanScope = clean;
        using var labelScope = labels;
        using var rows = torch.tensor(images.Select(i => (long)i).ToArray());
        using var cleanRows = clean.index_select(0, rows);
        using var labelRows = labels.index_select(0, rows);
        var inputs = new List<Tensor>();
        var targets = new List<Tensor>();
        try
        {
            foreach (var s in records.Shards.Where(shard))
            {
                using var scope = torch.NewDisposeScope();
                var (adversarial, cleanPredictions, predictions) = records.Read(s);
                var x = adversarial.index_select(0, rows);
                var keep = successfulOnly
                    ? cleanPredictions.index_select(0, rows).eq(labelRows).logical_and(predictions.index_select(0, rows).ne(labelRows))
                    : torch.ones(rows.shape[0], ScalarType.Bool);
                var kept = keep.nonzero().squeeze(1);
                if (kept.numel() == 0) continue;
                var chosen = x.index_select(0, kept);
                var value = input == ParsingInput.Perturbation ? chosen.sub(cleanRows.index_select(0, kept)) : chosen;
                inputs.Add(value.MoveToOuterDisposeScope());
                targets.Add(torch.tensor(schema.Labels(s.Attributes)).unsqueeze(0).expand(kept.shape[0], -1).contiguous().MoveToOuterDisposeScope());
            }
            if (inputs.Count == 0) throw new ArgumentException("No examples pass the filter: no shard, or no attack that succeeded on an image its victim got right (parse every attacked image instead: successfulOnly false, --all-examples).", nameof(shard));
            return new ParsingData(torch.cat(inputs), torch.cat(targets), schema);
        }
        finally
        {
            foreach (var t in inputs.Concat(targets)) t.Dispose();
        }
    }

    /// <summary>As <see cref="From"/> with <see cref="ParsingInput.Denoised"/>: the adversarial images mapped to x' - D(x') by <paramref name="denoiser"/>.</summary>
    public static ParsingData Denoised(AttackRecordSet records, AttributeSchema schema, Func<AttackShard, bool> shard, IReadOnlyList<int> images,
        DnCnn denoiser, bool successfulOnly = true)
    {
        ArgumentNullException.ThrowIfNull(denoiser);
        using var adversarial = From(records, schema, shard, images, ParsingInput.Adversarial, successfulOnly);
        return new ParsingData(denoiser.Residual(adversarial.Inputs), adversarial.Labels.clone(), schema);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Inputs.Dispose();
        Labels.Dispose();
    }
}

/// <summary>The parsing network's backbone (RED-adv's two).</summary>
public enum ParsingBackbone
{
    /// <summary>Four blocks of 3x3 conv (64), batch norm, ReLU and 2x2 max-pool, a 128-unit linear layer, the heads.</summary>
    ConvNet4,

    /// <summary>ResNet-9 (<see cref="ArchSpecs.ResNet9"/>), its classifier giving every head's logits.</summary>
    ResNet9,
}

/// <summary>
/// The model parsing network (MPN): one backbone and one cross-entropy head per attribute. As in RED-adv, the heads are
/// one linear layer whose outputs are cut per attribute.
/// </summary>
public sealed class ModelParsingNetwork : Module<Tensor, Tensor>
{
    private readonly Module<Tensor, Tensor> backbone;

    /// <summary>A network for <paramref name="schema"/> on <paramref name="channels"/> x <paramref name="size"/>^2 inputs.</summary>
    public ModelParsingNetwork(AttributeSchema schema, ParsingBackbone kind = ParsingBackbone.ConvNet4, int channels = 3, int size = 32, int width = 64)
        : base(nameof(ModelParsingNetwork))
    {
        ArgumentNullException.ThrowIfNull(schema);
        Schema = schema;
        Kind = kind;
        int outputs = schema.Classes.Sum();
        if (kind == ParsingBackbone.ConvNet4)
        {
            if (size % 16 != 0) throw new ArgumentOutOfRangeException(nameof(size), size, "ConvNet-4 halves the image four times; the size must be a multiple of 16.");
            var layers = new List<(string, Module<Tensor, Tensor>)>();
            int input = channels;
            for (int b = 0; b < 4; b++)
            {
                layers.Add(($"conv{b}", Conv2d(input, width, 3, padding: 1)));
                layers.Add(($"bn{b}", BatchNorm2d(width)));
                layers.Add(($"relu{b}", ReLU()));
                layers.Add(($"pool{b}", MaxPool2d(2)));
                input = width;
            }
            layers.Add(("flatten", Flatten()));
            layers.Add(("hidden", Linear(width * (size / 16) * (size / 16), 128)));
            layers.Add(("heads", Linear(128, outputs)));
            backbone = Sequential(layers);
        }
        else
        {
            backbone = new SpecNetwork(ArchSpecs.ResNet9(width, 3, ActivationKind.Relu), outputs, channels, size);
        }
        RegisterComponents();
    }

    /// <summary>The attributes and their values.</summary>
    public AttributeSchema Schema { get; }

    /// <summary>The backbone kind.</summary>
    public ParsingBackbone Kind { get; }

    /// <summary>All heads' logits side by side, [N, sum of classes]; <see cref="Split"/> cuts them per attribute.</summary>
    public override Tensor forward(Tensor input) => backbone.call(input);

    /// <summary>The logits of each attribute.</summary>
    public Tensor[] Split(Tensor logits) => logits.split([.. Schema.Classes.Select(c => (long)c)], 1);
}

/// <summary>The parsing network's training recipe (RED-adv: SGD lr 0.1, cosine, 100 epochs, batch 512).</summary>
public sealed record ParsingOptions
{
    /// <summary>Backbone.</summary>
    public ParsingBackbone Backbone { get; init; } = ParsingBackbone.ConvNet4;

    /// <summary>Epochs.</summary>
    public int Epochs { get; init; } = 100;

    /// <summary>Examples per step.</summary>
    public int BatchSize { get; init; } = 512;

    /// <summary>Peak learning rate (SGD, momentum 0.9, weight decay 5e-4, cosine decay).</summary>
    public double LearningRate { get; init; } = 0.1;

    /// <summary>Seed of initialisation and shuffling.</summary>
    public int Seed { get; init; }

    /// <summary>
    /// "N examples, S steps of B per epoch": what a progress line says of a training set, so that a set too small for the
    /// batch size shows (RED-adv's 512 suits its tens of thousands of examples; 400 examples at 512 is one step an epoch).
    /// </summary>
    public string DescribeTraining(long examples)
    {
        long steps = (examples + BatchSize - 1) / BatchSize;
        return string.Create(CultureInfo.InvariantCulture, $"{examples:N0} examples, {steps:N0} {(steps == 1 ? "step" : "steps")} of {BatchSize} per epoch");
    }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first setting out of range.</summary>
    public ParsingOptions Validate()
    {
        Require.AtLeast(Epochs, 1, nameof(Epochs));
        Require.BatchSize(BatchSize, nameof(BatchSize));
        Require.Positive(LearningRate, nameof(LearningRate));
        return this;
    }
}

/// <summary>Per-attribute accuracy of a parsing network on some examples, with the chance level of each attribute.</summary>
/// <param name="Attributes">Attribute names.</param>
/// <param name="Accuracy">Accuracy per attribute.</param>
/// <param name="Chance">Chance per attribute: the share of the most frequent value among the examples (a guess of that value).</param>
/// <param name="Examples">Examples evaluated.</param>
public sealed record ParsingScores(IReadOnlyList<string> Attributes, IReadOnlyList<double> Accuracy, IReadOnlyList<double> Chance, long Examples)
{
    /// <summary>Mean accuracy over the attributes.</summary>
    public double MeanAccuracy => Accuracy.Average();

    /// <summary>
    /// How many different values the parser named per attribute over the examples (null where not counted). One means it
    /// gave every example the same answer: a collapsed training run, which scores that value's share whatever the inputs hold.
    /// </summary>
    public IReadOnlyList<int>? NamedValues { get; init; }

    /// <summary>Whether the parser named one value of attribute <paramref name="attribute"/> for every example (and there was more than one).</summary>
    public bool OneAnswer(int attribute) => NamedValues is { } named && named[attribute] == 1 && Examples > 1;

    /// <summary>Whether <see cref="OneAnswer"/> holds for any attribute.</summary>
    public bool AnyOneAnswer => Enumerable.Range(0, Attributes.Count).Any(OneAnswer);

    /// <summary>A table cell: "accuracy (chance)", marked with <see cref="OneAnswerMark"/> where the parser gave one answer.</summary>
    public string Cell(int attribute) => string.Create(CultureInfo.InvariantCulture,
        $"{Accuracy[attribute]:P1} ({Chance[attribute]:P1}){(OneAnswer(attribute) ? " " + OneAnswerMark : "")}");

    /// <summary>The mark of a cell whose parser gave one answer for every example.</summary>
    public const string OneAnswerMark = "(one answer)";

    /// <summary>The reports' footnote for cells marked <see cref="OneAnswerMark"/>.</summary>
    public const string OneAnswerNote = "(one answer): the parser named the same value for every test example, so it scores that value's share: its training collapsed (a lower learning rate may help), which says nothing either way about what the inputs carry.";
}

/// <summary>Trains and evaluates model parsing networks.</summary>
public sealed class ModelParser(ParsingOptions? options = null)
{
    /// <summary>The recipe.</summary>
    public ParsingOptions Options { get; } = (options ?? new ParsingOptions()).Validate();

    /// <summary>Trains a new network on <paramref name="data"/> (sum of the heads' cross-entropies).</summary>
    public ModelParsingNetwork Train(ParsingData data, IProgress<(int Epoch, double Loss, TimeSpan Duration)>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        var o = Options;
        torch.random.manual_seed(o.Seed);
        var network = new ModelParsingNetwork(data.Schema, o.Backbone, (int)data.Inputs.shape[1], (int)data.Inputs.shape[2]);
        network.train();
        CosineSgd.Train(network.parameters(), (int)data.Count, o.Epochs, o.BatchSize, o.LearningRate, 5e-4, o.Seed, rows =>
        {
            var y = data.Labels.index_select(0, rows);
            var heads = network.Split(network.call(data.Inputs.index_select(0, rows)));
            return heads.Select((logits, a) => torch.nn.functional.cross_entropy(logits, y.select(1, a))).Aggregate((s, l) => s.add(l));
        }, progress, cancellationToken);
        network.eval();
        return network;
    }

    /// <summary>
    /// Each example's most likely value per attribute (one row of value indices per input), in batches, without
    /// gradients, in evaluation mode (the network's mode is restored).
    /// </summary>
    public static long[][] Predict(ModelParsingNetwork network, Tensor inputs, int batchSize = 512)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(inputs);
        var rows = new List<long[]>();
        bool training = network.training;
        network.eval();
        try
        {
            using var noGrad = torch.no_grad();
            for (long start = 0; start < inputs.shape[0]; start += batchSize)
            {
                using var scope = torch.NewDisposeScope();
                long size = Math.Min(batchSize, inputs.shape[0] - start);
                var heads = network.Split(network.call(inputs.narrow(0, start, size)));
                long[] values = torch.stack(heads.Select(h => h.argmax(1)), 1).contiguous().data<long>().ToArray();
                int width = heads.Length;
                for (int i = 0; i < size; i++) rows.Add(values[(i * width)..((i + 1) * width)]);
            }
        }
        finally
        {
            network.train(training);
        }
        return [.. rows];
    }

    /// <summary>Per-attribute accuracy of <paramref name="network"/> on <paramref name="data"/>, and how many values it named.</summary>
    public static ParsingScores Evaluate(ModelParsingNetwork network, ParsingData data, int batchSize = 512)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        if (!network.Schema.Names.SequenceEqual(data.Schema.Names)) throw new ArgumentException("The data's attributes are not the network's.", nameof(data));
        int attributes = data.Schema.Names.Count;
        var named = Predict(network, data.Inputs, batchSize);
        long[] labels;
        using (var flat = data.Labels.contiguous()) labels = flat.data<long>().ToArray();
        var accuracy = new double[attributes];
        var chance = new double[attributes];
        var distinct = new int[attributes];
        for (int a = 0; a < attributes; a++)
        {
            long correct = 0;
            for (int i = 0; i < named.Length; i++) if (named[i][a] == labels[i * attributes + a]) correct++;
            accuracy[a] = (double)correct / data.Count;
            chance[a] = Enumerable.Range(0, named.Length).GroupBy(i => labels[i * attributes + a]).Max(g => g.Count()) / (double)data.Count;
            distinct[a] = named.Select(row => row[a]).Distinct().Count();
        }
        return new ParsingScores(data.Schema.Names, accuracy, chance, data.Count) { NamedValues = distinct };
    }
}
