using Robustness.Validation;
namespace Robustness.Models;

/// <summary>
/// Everything needed to rebuild a zoo network: its architecture name and shape parameters. Stored in the
/// safetensors metadata of a saved <see cref="Classifier"/>, so <c>Classifier.Load(path)</c> needs nothing else.
/// </summary>
/// <param name="Architecture">A name from <see cref="ModelZoo.Architectures"/>, e.g. <c>resnet18</c>.</param>
/// <param name="Classes">Number of output classes (>= 2).</param>
/// <param name="Width">Base width (channels of the first stage); 0 means the architecture's standard width.</param>
/// <param name="Depth">Depth for architectures that have one (WideResNet: 6n+4); 0 means the standard depth.</param>
/// <param name="WidenFactor">WideResNet widen factor; 0 means the standard one.</param>
/// <param name="InputChannels">Image channels (3 for RGB, 1 for grayscale).</param>
/// <param name="ImageSize">Input height and width in pixels.</param>
/// <remarks>
/// The positional fields are the shape knobs most families read; each family rejects those it does not use. A
/// family's own further parameters (a ViT's patch size, an architecture spec's stages) go in <see cref="Parameters"/>,
/// which is saved in the model file with the rest.
/// </remarks>
public sealed record ModelSpec(
    string Architecture,
    int Classes = 10,
    int Width = 0,
    int Depth = 0,
    int WidenFactor = 0,
    int InputChannels = 3,
    int ImageSize = 32)
{
    /// <summary>The family's own parameters beyond the positional fields (none for the built-in CNNs).</summary>
    public ModelParameters Parameters { get; init; } = ModelParameters.Empty;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first field out of range.</summary>
    public ModelSpec Validate()
    {
        if (string.IsNullOrWhiteSpace(Architecture))
            throw new ArgumentOutOfRangeException(nameof(Architecture), Architecture, $"Architecture must be one of: {string.Join(", ", ModelZoo.Architectures)}.");
        Require.AtLeast(Classes, 2, nameof(Classes));
        if (Width < 0) throw new ArgumentOutOfRangeException(nameof(Width), Width, "Width must be >= 0 (0 = the architecture's standard width).");
        if (Depth < 0) throw new ArgumentOutOfRangeException(nameof(Depth), Depth, "Depth must be >= 0 (0 = the architecture's standard depth).");
        if (WidenFactor < 0) throw new ArgumentOutOfRangeException(nameof(WidenFactor), WidenFactor, "WidenFactor must be >= 0 (0 = standard).");
        if (InputChannels is < 1 or > 4) throw new ArgumentOutOfRangeException(nameof(InputChannels), InputChannels, "InputChannels must be between 1 and 4.");
        if (Parameters is null) throw new ArgumentNullException(nameof(Parameters));
        if (ImageSize is < 8 or > 1024) throw new ArgumentOutOfRangeException(nameof(ImageSize), ImageSize, "ImageSize must be between 8 and 1024.");
        return this;
    }
}
