namespace Robustness.Data;

/// <summary>How <see cref="SizePolicy"/> brings decoded images to one common size.</summary>
public enum SizeMode
{
    /// <summary>Every image must have the size of the first image read (in the reader's deterministic order).</summary>
    MatchFirst,

    /// <summary>Every image must be exactly <see cref="SizePolicy.Height"/> x <see cref="SizePolicy.Width"/>.</summary>
    Require,

    /// <summary>Every image is stretched to the target size (bilinear; the aspect ratio is not kept).</summary>
    Resize,

    /// <summary>The centre of every image is cut out at the target size; smaller images are an error.</summary>
    CenterCrop,

    /// <summary>
    /// Every image is scaled (bilinear, aspect ratio kept) until it just covers the target size, then its centre is
    /// cut out. For a square target this is the familiar "resize the shorter side, then centre-crop".
    /// </summary>
    ResizeShorterThenCenterCrop,
}

/// <summary>
/// The size rule applied to every decoded image, so that an image set can hold equally sized images. The default,
/// <see cref="MatchFirst"/>, accepts the images as they are and requires them to agree; the other policies give a
/// fixed target size.
/// </summary>
/// <remarks>
/// Resizing uses ImageSharp's triangle (bilinear) filter. When shrinking, the filter is widened with the scale factor,
/// so each output pixel averages all the input pixels it covers (as PIL's bilinear resize does), which avoids aliasing.
/// Centre crops start at <c>(H - h) / 2</c>, <c>(W - w) / 2</c>, rounded down.
/// </remarks>
public sealed record SizePolicy
{
    private SizePolicy(SizeMode mode, int height, int width)
    {
        Mode = mode;
        Height = height;
        Width = width;
    }

    /// <summary>The rule.</summary>
    public SizeMode Mode { get; }

    /// <summary>Target height in pixels; 0 for <see cref="SizeMode.MatchFirst"/>.</summary>
    public int Height { get; }

    /// <summary>Target width in pixels; 0 for <see cref="SizeMode.MatchFirst"/>.</summary>
    public int Width { get; }

    /// <summary>True when the policy names its target size (every mode but <see cref="SizeMode.MatchFirst"/>).</summary>
    public bool HasTargetSize => Mode != SizeMode.MatchFirst;

    /// <summary>All images must share the first image's size (the default).</summary>
    public static SizePolicy MatchFirst { get; } = new(SizeMode.MatchFirst, 0, 0);

    /// <summary>All images must be exactly <paramref name="height"/> x <paramref name="width"/>.</summary>
    public static SizePolicy Require(int height, int width) => new(SizeMode.Require, CheckSide(height, nameof(height)), CheckSide(width, nameof(width)));

    /// <summary>Stretches every image to <paramref name="height"/> x <paramref name="width"/> (bilinear).</summary>
    public static SizePolicy Resize(int height, int width) => new(SizeMode.Resize, CheckSide(height, nameof(height)), CheckSide(width, nameof(width)));

    /// <summary>Cuts the centre <paramref name="height"/> x <paramref name="width"/> out of every image.</summary>
    public static SizePolicy CenterCrop(int height, int width) => new(SizeMode.CenterCrop, CheckSide(height, nameof(height)), CheckSide(width, nameof(width)));

    /// <summary>Scales every image (aspect kept) to cover <paramref name="height"/> x <paramref name="width"/>, then centre-crops.</summary>
    public static SizePolicy ResizeShorterThenCenterCrop(int height, int width) =>
        new(SizeMode.ResizeShorterThenCenterCrop, CheckSide(height, nameof(height)), CheckSide(width, nameof(width)));

    /// <inheritdoc />
    public override string ToString() => HasTargetSize ? $"{Mode}({Height}x{Width})" : Mode.ToString();

    private static int CheckSide(int value, string name) =>
        value is >= 1 and <= 65535 ? value : throw new ArgumentOutOfRangeException(name, value, $"{name} must be between 1 and 65535 pixels.");
}
