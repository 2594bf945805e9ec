using Robustness.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Masks;

/// <summary>
/// Patch tokens a <see cref="VisionTransformer"/> keeps before each block, chosen by an <see cref="ITokenSelector"/>
/// (EViT's top class attention, HeatViT's learned selector, a patch ticket). The transformer removes dropped tokens from
/// the sequence, so the masked model is already the materialised one: <see cref="Apply"/> installs the selector and
/// <see cref="Materialise"/> installs it on a copy; either computes less, which its cost card measures.
/// </summary>
public sealed class TokenMask(ITokenSelector selector) : IModelMask
{
    /// <summary>The selector.</summary>
    public ITokenSelector Selector { get; } = selector ?? throw new ArgumentNullException(nameof(selector));

    /// <inheritdoc />
    public MaskTarget Target => MaskTarget.Tokens;

    /// <summary>Tokens (the class token included) each block processes on one blank image of the model's size.</summary>
    public MaskReport Report(Classifier classifier)
    {
        var vit = VisionTransformerOf(classifier);
        var previous = vit.TokenSelector;
        try
        {
            vit.TokenSelector = Selector;
            using var scope = torch.NewDisposeScope();
            using var _ = torch.no_grad();
            using var mode = classifier.EvalMode();
            classifier.Forward(torch.zeros([1, classifier.Spec.InputChannels, classifier.Spec.ImageSize, classifier.Spec.ImageSize], device: classifier.Device));
            return new MaskReport(Target, [.. vit.LastTokenCounts.Select((kept, b) => new MaskPart($"blocks.{b}", kept, vit.Tokens + 1))]);
        }
        finally
        {
            vit.TokenSelector = previous;
        }
    }

    /// <inheritdoc />
    public void Apply(Classifier classifier) => VisionTransformerOf(classifier).TokenSelector = Selector;

    /// <inheritdoc />
    public Classifier Materialise(Classifier classifier)
    {
        VisionTransformerOf(classifier);
        var copy = classifier.Clone();
        Apply(copy);
        return copy;
    }

    internal static VisionTransformer VisionTransformerOf(Classifier classifier)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        return classifier.Network as VisionTransformer ?? throw new ArgumentException(
            $"Token and attention-link masks need a Vision Transformer ('{VisionTransformer.Name}'); this model is '{classifier.Spec.Architecture}'.", nameof(classifier));
    }
}

/// <summary>
/// Attention links a <see cref="VisionTransformer"/> keeps in each block (<see cref="IAttentionLinkMask"/>). Cut links
/// are masked in the attention scores; the sequence keeps its length, so materialising is a copy with the mask installed.
/// </summary>
public sealed class AttentionLinkMask(IAttentionLinkMask links) : IModelMask
{
    /// <summary>The link mask.</summary>
    public IAttentionLinkMask Links { get; } = links ?? throw new ArgumentNullException(nameof(links));

    /// <inheritdoc />
    public MaskTarget Target => MaskTarget.AttentionLinks;

    /// <summary>Links kept per block for the full token sequence (per head where the mask differs by head).</summary>
    public MaskReport Report(Classifier classifier)
    {
        var vit = TokenMask.VisionTransformerOf(classifier);
        int tokens = vit.Tokens + 1;
        var parts = new List<MaskPart>();
        for (int b = 0; b < vit.Depth; b++)
        {
            using var mask = Links.Mask(b, tokens);
            if (mask is null) { parts.Add(new MaskPart($"blocks.{b}", (long)tokens * tokens, (long)tokens * tokens)); continue; }
            using var square = mask.dim() < 2 ? mask.expand(tokens, tokens) : mask;
            parts.Add(new MaskPart($"blocks.{b}", square.count_nonzero().item<long>(), square.numel()));
        }
        return new MaskReport(Target, parts);
    }

    /// <inheritdoc />
    public void Apply(Classifier classifier) => TokenMask.VisionTransformerOf(classifier).AttentionLinks = Links;

    /// <inheritdoc />
    public Classifier Materialise(Classifier classifier)
    {
        TokenMask.VisionTransformerOf(classifier);
        var copy = classifier.Clone();
        Apply(copy);
        return copy;
    }
}
