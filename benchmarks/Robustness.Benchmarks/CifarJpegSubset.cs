using System.Formats.Tar;
using System.IO.Compression;
using Robustness.Data;

namespace Robustness.Benchmarks;

/// <summary>
/// A class-balanced subset of the CIFAR-10 JPEG tarball (../shared/datasets/cifar10/cifar10-jpeg.tar.gz:
/// <c>train/&lt;class&gt;/NNNN.jpg</c>, <c>test/&lt;class&gt;/NNNN.jpg</c>): the first <c>n</c> files of each class by
/// ordinal file name, copied out of the tarball (streamed, nothing else extracted) into class folders and read with the
/// library's <see cref="ImageFolderReader"/>, so the images are decoded as the CLI decodes them. Classes come in
/// ordinal folder order, which for CIFAR-10 is the published label order (airplane ... truck).
/// </summary>
public static class CifarJpegSubset
{
    private const string CompleteMarker = ".complete";

    /// <summary>
    /// Makes (once; a marker file says it is complete and for which sizes) <paramref name="folder"/>/train and /test
    /// holding <paramref name="trainPerClass"/> and <paramref name="testPerClass"/> images of each class, then reads both.
    /// </summary>
    public static (ImageSet Train, ImageSet Test) Load(string tarball, string folder, int trainPerClass, int testPerClass)
    {
        string marker = Path.Combine(folder, CompleteMarker), sizes = $"{trainPerClass} {testPerClass}";
        if (!File.Exists(marker) || File.ReadAllText(marker) != sizes)
        {
            // A copy cut short, or one of other sizes (an earlier, smaller run): start again.
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            Extract(tarball, folder, new Dictionary<string, int> { ["train"] = trainPerClass, ["test"] = testPerClass });
            File.WriteAllText(marker, sizes);
        }
        var options = new ImageFolderOptions { Strict = true };
        var train = ImageFolderReader.Read(Path.Combine(folder, "train"), options).Images;
        var test = ImageFolderReader.Read(Path.Combine(folder, "test"), options).Images;
        if (!train.ClassNames.SequenceEqual(CifarClassNames.Cifar10) || !test.ClassNames.SequenceEqual(CifarClassNames.Cifar10))
            throw new InvalidDataException($"'{tarball}' does not hold the ten CIFAR-10 class folders: found [{string.Join(", ", train.ClassNames)}].");
        return (train, test);
    }

    private static void Extract(string tarball, string folder, IReadOnlyDictionary<string, int> perClass)
    {
        // The tarball is small (20 MB); the JPEG bytes of every file are kept until the first n per class are known.
        var files = new SortedDictionary<string, SortedDictionary<string, byte[]>>(StringComparer.Ordinal);
        using (var stream = File.OpenRead(tarball))
        using (var gzip = new GZipStream(stream, CompressionMode.Decompress))
        using (var reader = new TarReader(gzip))
        {
            while (reader.GetNextEntry() is { } entry)
            {
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null) continue;
                var parts = entry.Name.Split('/', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length != 3 || !perClass.ContainsKey(parts[0]) || parts.Any(p => p is "." or "..")) continue;
                using var copy = new MemoryStream();
                entry.DataStream.CopyTo(copy);
                string group = parts[0] + "/" + parts[1];
                if (!files.TryGetValue(group, out var inGroup)) files[group] = inGroup = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
                inGroup[parts[2]] = copy.ToArray();
            }
        }
        foreach (var (group, inGroup) in files)
        {
            int n = perClass[group.Split('/')[0]];
            if (inGroup.Count < n)
                throw new InvalidDataException($"'{tarball}' has {inGroup.Count} images in {group}; {n} were asked for.");
            string dir = Path.Combine(folder, group);
            Directory.CreateDirectory(dir);
            foreach (var (name, bytes) in inGroup.Take(n)) File.WriteAllBytes(Path.Combine(dir, name), bytes);
        }
    }
}
