using Robustness.Data;

namespace Robustness.Protection.Batch;

/// <summary>
/// The input size of a source model trained on a folder of images (<c>protect --train-epochs</c>): the images' own
/// size when they all share one square size a model can take, otherwise <see cref="Default"/>. Images of other sizes
/// are then trained on stretched to it, and protected at their own size through the same view
/// (<see cref="CraftingViews"/>).
/// </summary>
public static class WorkingSize
{
    /// <summary>The working size of a folder of mixed sizes: CIFAR's 32 pixels, the scale the SEP recipe and its tables use.</summary>
    public const int Default = 32;

    /// <summary>Smallest and largest size a built-in model takes (<see cref="Models.ModelSpec.ImageSize"/>).</summary>
    public const int Minimum = 8, Maximum = 1024;

    /// <summary>
    /// Reads only the headers of <paramref name="files"/> and returns their common square size, or <see cref="Default"/>
    /// when they differ, are not square, lie outside [<see cref="Minimum"/>, <see cref="Maximum"/>] or none can be read.
    /// </summary>
    public static int Choose(IEnumerable<ImageFileEntry> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var sizes = files.AsParallel().Select(f => ImageFileReader.TryIdentify(f.FullPath)).Where(s => s is not null).Select(s => s!.Value).Distinct().Take(2).ToArray();
        return sizes is [var only] && only.Height == only.Width && only.Height is >= Minimum and <= Maximum ? only.Height : Default;
    }
}
