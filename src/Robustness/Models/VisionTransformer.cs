using Robustness.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using F = TorchSharp.torch.nn.functional;

namespace Robustness.Models;

/// <summary>
/// A Vision Transformer for small images (Dosovitskiy et al., ICLR 2021), laid out as timm's VisionTransformer with
/// class-token pooling: patch embedding (a patch x patch convolution), a class token, learned positions, pre-norm
/// blocks (LayerNorm, multi-head self-attention, LayerNorm, GELU MLP, each with a residual), a final LayerNorm and a
/// linear head on the class token. Parameter names are timm's (<c>patch_embed.proj</c>, <c>cls_token</c>,
/// <c>pos_embed</c>, <c>blocks.N.norm1</c>, <c>blocks.N.attn.qkv</c>, <c>blocks.N.attn.proj</c>,
/// <c>blocks.N.mlp.fc1</c>/<c>fc2</c>, <c>norm</c>, <c>head</c>), so weights move to and from PyTorch.
/// <para>
/// The hooks the token-level techniques need: a <see cref="TokenSelector"/> that removes patch tokens physically
/// before a block (compute really drops), an <see cref="AttentionLinks"/> mask that cuts attention links, and
/// <see cref="ForwardOutputs"/>, which returns every block's hidden state, its class-token attention map and an exit
/// (the shared norm and head applied to that block's class token) beside the logits.
/// </para>
/// </summary>
public sealed class VisionTransformer : Module<Tensor, Tensor>, IClassifierNetwork, IMultiOutputNetwork, IReproducibleInitialisation
{
    /// <summary>Zoo name.</summary>
    public const string Name = "vit";

    /// <summary>Standard embedding width (ViT-Tiny's 192).</summary>
    public const int StandardWidth = 192;

    /// <summary>Standard depth for CIFAR-sized images on a CPU: 6 blocks.</summary>
    public const int StandardDepth = 6;

    /// <summary>Standard number of attention heads (ViT-Tiny's 3).</summary>
    public const int StandardHeads = 3;

    /// <summary>Standard patch side: 4 pixels (64 tokens on 32x32).</summary>
    public const int StandardPatch = 4;

    /// <summary>Standard MLP expansion ratio: 4.</summary>
    public const double StandardMlpRatio = 4.0;

    private readonly PatchEmbed patch_embed;
    private readonly Parameter cls_token;
    private readonly Parameter pos_embed;
    private readonly ModuleList<Block> blocks;
    private readonly LayerNorm norm;
    private readonly Linear head;
    private int[] _lastTokenCounts = [];

    /// <summary>Creates the network for <paramref name="imageSize"/> x <paramref name="imageSize"/> images.</summary>
    public VisionTransformer(int classes = 10, int width = StandardWidth, int depth = StandardDepth, int heads = StandardHeads,
        int patch = StandardPatch, double mlpRatio = StandardMlpRatio, int inputChannels = 3, int imageSize = 32)
        : base(nameof(VisionTransformer))
    {
        SpecRules.CheckShape(classes, width, inputChannels);
        Validation.Require.AtLeast(depth, 1, nameof(depth));
        Validation.Require.AtLeast(heads, 1, nameof(heads));
        Validation.Require.AtLeast(patch, 1, nameof(patch));
        Validation.Require.Positive(mlpRatio, nameof(mlpRatio));
        if (width % heads != 0)
            throw new ArgumentOutOfRangeException(nameof(heads), heads, $"heads must divide the width {width}.");
        if (imageSize % patch != 0)
            throw new ArgumentOutOfRangeException(nameof(patch), patch, $"patch must divide the image size {imageSize}.");
        Width = width;
        Depth = depth;
        Heads = heads;
        Patch = patch;
        Tokens = (imageSize / patch) * (imageSize / patch);
        patch_embed = new PatchEmbed(inputChannels, width, patch);
        cls_token = new Parameter(torch.zeros(1, 1, width));
        pos_embed = new Parameter(torch.zeros(1, Tokens + 1, width));
        blocks = new ModuleList<Block>(Enumerable.Range(0, depth).Select(_ => new Block(width, heads, (int)Math.Round(width * mlpRatio))).ToArray());
        norm = LayerNorm(width, eps: 1e-6);
        head = Linear(width, classes);
        FeatureSize = width;
        RegisterComponents();
        // Built unseeded, the network draws its generator's seed from the process-wide one, as every zoo network's
        // default initialisation does; Classifier.Create with a seed redraws everything from a private generator.
        using var seed = torch.randint(0, long.MaxValue, [1], dtype: ScalarType.Int64);
        using var generator = new Generator(unchecked((ulong)seed.item<long>()));
        ResetParameters(generator);
    }

    /// <summary>Builds the network a <see cref="ModelSpec"/> describes: Width = embedding width (0 = 192), Depth = blocks
    /// (0 = 6), parameters <c>heads</c> (3), <c>patch</c> (4) and <c>mlp_ratio</c> (4); no widen factor.</summary>
    public static VisionTransformer Create(ModelSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        SpecRules.RequireNoWidenFactor(spec);
        var unknown = spec.Parameters.Keys.Except(["heads", "patch", "mlp_ratio"]).ToArray();
        if (unknown.Length > 0)
            throw new ArgumentOutOfRangeException(nameof(ModelSpec.Parameters), string.Join(", ", unknown),
                "vit takes the parameters heads, patch and mlp_ratio only.");
        return new VisionTransformer(spec.Classes, SpecRules.Width(spec, StandardWidth), spec.Depth == 0 ? StandardDepth : spec.Depth,
            spec.Parameters.Get("heads", StandardHeads), spec.Parameters.Get("patch", StandardPatch), spec.Parameters.Get("mlp_ratio", StandardMlpRatio),
            spec.InputChannels, spec.ImageSize);
    }

    /// <summary>Embedding width.</summary>
    public int Width { get; }

    /// <summary>Number of blocks.</summary>
    public int Depth { get; }

    /// <summary>Attention heads per block.</summary>
    public int Heads { get; }

    /// <summary>Patch side in pixels.</summary>
    public int Patch { get; }

    /// <summary>Patch tokens of a full image (the class token not counted).</summary>
    public int Tokens { get; }

    /// <inheritdoc />
    public int FeatureSize { get; }

    /// <summary>Chooses the patch tokens each block keeps (null: all). Tokens it drops are removed, not masked.</summary>
    public ITokenSelector? TokenSelector { get; set; }

    /// <summary>Cuts attention links per block (null: none cut).</summary>
    public IAttentionLinkMask? AttentionLinks { get; set; }

    /// <summary>The tokens (class token included) each block processed in the last forward pass.</summary>
    public IReadOnlyList<int> LastTokenCounts => _lastTokenCounts;

    /// <inheritdoc />
    public IReadOnlyList<string> AuxiliaryOutputNames =>
        Enumerable.Range(0, Depth).SelectMany(b => new[] { $"hidden.{b}", $"cls_attention.{b}", $"exit.{b}" }).ToArray();

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => Run(input, collect: null);

    /// <inheritdoc />
    public Tensor Features(Tensor normalisedInput)
    {
        var outputs = new Dictionary<string, Tensor>();
        using var scope = torch.NewDisposeScope();
        Run(normalisedInput, collect: null, features: outputs);
        return outputs["features"].MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public Tensor Head(Tensor features) => head.call(features);

    /// <inheritdoc />
    public NetworkOutputs ForwardOutputs(Tensor normalisedInput)
    {
        var auxiliary = new Dictionary<string, Tensor>();
        var logits = Run(normalisedInput, auxiliary);
        return new NetworkOutputs(logits, auxiliary);
    }

    /// <summary>
    /// Redraws the weights from <paramref name="generator"/> as timm initialises a ViT: positions, class token and
    /// linear weights normal with std 0.02, biases 0, LayerNorm 1 and 0; the patch convolution as PyTorch's default.
    /// </summary>
    public void ResetParameters(Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        using var _ = torch.no_grad();
        DefaultInitialisation.Reset(patch_embed, generator);
        Normal(pos_embed, generator);
        Normal(cls_token, generator);
        foreach (var module in modules())
        {
            switch (module)
            {
                case Linear linear:
                    Normal(linear.weight!, generator);
                    linear.bias?.zero_();
                    break;
                case LayerNorm layerNorm:
                    layerNorm.weight?.fill_(Scalars.One);
                    layerNorm.bias?.zero_();
                    break;
            }
        }
    }

    private static void Normal(Tensor tensor, Generator generator)
    {
        // timm draws a normal with std 0.02 truncated at +-2 (absolute), which at this std truncates nothing.
        tensor.normal_(0, 0.02, generator);
    }

    private Tensor Run(Tensor input, Dictionary<string, Tensor>? collect, Dictionary<string, Tensor>? features = null)
    {
        long batch = input.shape[0];
        var x = patch_embed.call(input);
        x = torch.cat([cls_token.expand(batch, -1, -1), x], 1).add(pos_embed);
        Tensor? clsAttention = null;
        var counts = new int[Depth];
        for (int b = 0; b < Depth; b++)
        {
            if (TokenSelector?.Keep(b, x, clsAttention) is { } keep)
            {
                // keep: [B, K] indices among the current patch tokens; the class token always stays.
                var index = keep.add(Scalars.One).unsqueeze(-1).expand(-1, -1, Width);
                x = torch.cat([x.narrow(1, 0, 1), x.gather(1, index)], 1);
            }
            counts[b] = (int)x.shape[1];
            // Through call(), so forward hooks on blocks.N fire (PwoA's representations); the block's extra inputs and
            // its attention map travel beside it.
            var block = blocks[b];
            block.Links = AttentionLinks?.Mask(b, (int)x.shape[1]);
            block.NeedAttention = TokenSelector is not null || collect is not null;
            x = block.call(x);
            var attention = block.TakeAttention();
            clsAttention = attention?.narrow(2, 0, 1).squeeze(2).narrow(2, 1, x.shape[1] - 1).mean([1]); // [B, N-1], heads averaged
            if (collect is not null)
            {
                collect[$"hidden.{b}"] = x;
                collect[$"cls_attention.{b}"] = attention!.narrow(2, 0, 1).squeeze(2).narrow(2, 1, x.shape[1] - 1);
                // forward, not call: an exit is not the network's norm output, so hooks on norm must not see it.
                if (b < Depth - 1) collect[$"exit.{b}"] = head.forward(norm.forward(x.narrow(1, 0, 1).squeeze(1)));
            }
        }
        _lastTokenCounts = counts;
        var pooled = norm.call(x).narrow(1, 0, 1).squeeze(1);
        if (features is not null) features["features"] = pooled;
        var logits = head.call(pooled);
        if (collect is not null) collect[$"exit.{Depth - 1}"] = logits;
        return logits;
    }

    /// <summary>timm's PatchEmbed: a patch x patch convolution with stride patch, flattened to tokens [B, L, D].</summary>
    private sealed class PatchEmbed : Module<Tensor, Tensor>
    {
        private readonly Conv2d proj;

        public PatchEmbed(int inputChannels, int width, int patch) : base(nameof(PatchEmbed))
        {
            proj = Conv2d(inputChannels, width, patch, stride: patch);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) => proj.call(input).flatten(2).transpose(1, 2);
    }

    /// <summary>A pre-norm transformer block: x + attn(norm1(x)), then x + mlp(norm2(x)).</summary>
    private sealed class Block : Module<Tensor, Tensor>
    {
        private readonly LayerNorm norm1;
        private readonly Attention attn;
        private readonly LayerNorm norm2;
        private readonly Mlp mlp;

        public Block(int width, int heads, int hidden) : base(nameof(Block))
        {
            norm1 = LayerNorm(width, eps: 1e-6);
            attn = new Attention(width, heads);
            norm2 = LayerNorm(width, eps: 1e-6);
            mlp = new Mlp(width, hidden);
            RegisterComponents();
        }

        /// <summary>The attention-link mask of the next forward (null: none).</summary>
        public Tensor? Links { get; set; }

        /// <summary>Whether the next forward keeps its attention map for <see cref="TakeAttention"/>.</summary>
        public bool NeedAttention { get; set; }

        private Tensor? _attention;

        public override Tensor forward(Tensor x)
        {
            var (attended, attention) = attn.Forward(norm1.call(x), Links, NeedAttention);
            _attention = attention;
            x = x.add(attended);
            return x.add(mlp.call(norm2.call(x)));
        }

        /// <summary>The attention map of the last forward, if it was asked for; forgotten once taken.</summary>
        public Tensor? TakeAttention()
        {
            var attention = _attention;
            _attention = null;
            Links = null;
            return attention;
        }
    }

    /// <summary>Multi-head self-attention with one qkv projection, as timm's Attention.</summary>
    private sealed class Attention : Module<Tensor, Tensor>
    {
        private readonly Linear qkv;
        private readonly Linear proj;
        private readonly int _heads;
        private readonly double _scale;

        public Attention(int width, int heads) : base(nameof(Attention))
        {
            qkv = Linear(width, 3 * width);
            proj = Linear(width, width);
            _heads = heads;
            _scale = Math.Pow(width / heads, -0.5);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) => Forward(input, null, needAttention: false).Output;

        public (Tensor Output, Tensor? Attention) Forward(Tensor x, Tensor? links, bool needAttention)
        {
            long b = x.shape[0], n = x.shape[1], c = x.shape[2];
            var parts = qkv.call(x).reshape(b, n, 3, _heads, c / _heads).permute(2, 0, 3, 1, 4);
            var (q, k, v) = (parts[0], parts[1], parts[2]);
            using var scale = _scale.ToScalar();
            var scores = q.mul(scale).matmul(k.transpose(-2, -1));
            if (links is not null) scores = scores.masked_fill(links.logical_not(), Scalars.NegativeInfinity);
            var attention = scores.softmax(-1);
            var output = attention.matmul(v).transpose(1, 2).reshape(b, n, c);
            return (proj.call(output), needAttention ? attention : null);
        }
    }

    /// <summary>timm's Mlp: fc1, GELU, fc2.</summary>
    private sealed class Mlp : Module<Tensor, Tensor>
    {
        private readonly Linear fc1;
        private readonly GELU act;
        private readonly Linear fc2;

        public Mlp(int width, int hidden) : base(nameof(Mlp))
        {
            fc1 = Linear(width, hidden);
            act = GELU();
            fc2 = Linear(hidden, width);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) => fc2.call(act.call(fc1.call(input)));
    }
}

/// <summary>
/// Chooses, before a block of a <see cref="VisionTransformer"/>, which patch tokens go on (the others are removed
/// from the sequence, so the block and every later one compute less). Token-pruning techniques (EViT, HeatViT,
/// Tri-level E-ViT) implement it.
/// </summary>
public interface ITokenSelector
{
    /// <summary>
    /// Indices [B, K] (int64, among the current patch tokens, class token excluded) to keep before
    /// <paramref name="block"/>, or null to keep them all. <paramref name="tokens"/> is the current sequence
    /// [B, 1 + N, D]; <paramref name="clsAttention"/> the previous block's class-token attention over the patch
    /// tokens [B, N] (heads averaged), null before the first block.
    /// </summary>
    Tensor? Keep(int block, Tensor tokens, Tensor? clsAttention);
}

/// <summary>Cuts attention links of a <see cref="VisionTransformer"/> block: a bool mask, true where a link stays.</summary>
public interface IAttentionLinkMask
{
    /// <summary>A bool mask broadcastable to [B, heads, N, N] for a sequence of <paramref name="tokens"/>, or null for none.</summary>
    Tensor? Mask(int block, int tokens);
}

/// <summary>
/// Keeps, at the given blocks, the patch tokens the class token attended to most in the previous block (EViT's
/// criterion, Liang et al., ICLR 2022, without fusing the dropped tokens), in their original order.
/// </summary>
public sealed class TopAttentionTokens : ITokenSelector
{
    private readonly HashSet<int> _blocks;

    /// <summary>Keeps the fraction <paramref name="keepRatio"/> (in (0, 1]) of the patch tokens before each of <paramref name="blocks"/> (>= 1).</summary>
    public TopAttentionTokens(double keepRatio, IEnumerable<int> blocks)
    {
        if (!(keepRatio > 0 && keepRatio <= 1)) throw new ArgumentOutOfRangeException(nameof(keepRatio), keepRatio, "keepRatio must be in (0, 1].");
        ArgumentNullException.ThrowIfNull(blocks);
        _blocks = blocks.ToHashSet();
        if (_blocks.Any(b => b < 1)) throw new ArgumentOutOfRangeException(nameof(blocks), "blocks must be >= 1 (block 0 has no attention to rank by).");
        KeepRatio = keepRatio;
    }

    /// <summary>The fraction of patch tokens kept at each pruning block.</summary>
    public double KeepRatio { get; }

    /// <inheritdoc />
    public Tensor? Keep(int block, Tensor tokens, Tensor? clsAttention)
    {
        if (!_blocks.Contains(block) || clsAttention is null) return null;
        long n = clsAttention.shape[1];
        long k = Math.Max(1, (long)Math.Ceiling(KeepRatio * n));
        return k >= n ? null : clsAttention.topk((int)k, 1).indexes.sort(1).Values;
    }
}
