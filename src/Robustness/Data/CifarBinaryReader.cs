using System.Globalization;

namespace Robustness.Data;

/// <summary>The two CIFAR binary layouts.</summary>
public enum CifarFormat
{
    /// <summary>CIFAR-10: each record is 1 label byte, then 3072 pixel bytes (3073 bytes).</summary>
    Cifar10,

    /// <summary>CIFAR-100: each record is a coarse and a fine label byte, then 3072 pixel bytes (3074 bytes); the fine label is used.</summary>
    Cifar100,
}

/// <summary>Which half of a CIFAR data set to read.</summary>
public enum CifarSplit
{
    /// <summary>The 50 000 training images (CIFAR-10: data_batch_1..5.bin; CIFAR-100: train.bin).</summary>
    Train,

    /// <summary>The 10 000 test images (CIFAR-10: test_batch.bin; CIFAR-100: test.bin).</summary>
    Test,
}

/// <summary>
/// Reads the CIFAR "binary version" files into an <see cref="ImageSet"/> of 3x32x32 RGB8 images. A record's 3072
/// pixel bytes are the red, green and blue 32x32 planes, row by row: exactly <see cref="ImageSet"/>'s channel-first
/// layout. Class names come from <c>batches.meta.txt</c> (CIFAR-10) or <c>fine_label_names.txt</c> (CIFAR-100) next
/// to the data when present, else from <see cref="CifarClassNames"/>. Each image's relative path is
/// <c>&lt;class&gt;/&lt;file name without .bin&gt;_&lt;record:D5&gt;.png</c>, so <see cref="PngImageWriter"/> writes a class-folder
/// copy that <see cref="ImageFolderReader"/> reads back with the same labels.
/// </summary>
public static class CifarBinaryReader
{
    /// <summary>Pixel bytes per record (3 x 32 x 32).</summary>
    public const int ImageBytes = 3 * 32 * 32;

    /// <summary>Bytes per record of <paramref name="format"/>: 3073 for CIFAR-10, 3074 for CIFAR-100.</summary>
    public static int RecordBytes(CifarFormat format) => LabelBytes(format) + ImageBytes;

    /// <summary>
    /// Reads one split from <paramref name="folder"/>, which is the folder holding the .bin files
    /// (<c>cifar-10-batches-bin</c>, <c>cifar-100-binary</c>) or its parent. Throws <see cref="FileNotFoundException"/>
    /// naming a missing file.
    /// </summary>
    public static ImageSet ReadSplit(string folder, CifarSplit split, CifarFormat format = CifarFormat.Cifar10)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        string dataFolder = FindDataFolder(Path.GetFullPath(folder), format);
        string[] names = (format, split) switch
        {
            (CifarFormat.Cifar10, CifarSplit.Train) => ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"],
            (CifarFormat.Cifar10, CifarSplit.Test) => ["test_batch.bin"],
            (CifarFormat.Cifar100, CifarSplit.Train) => ["train.bin"],
            (CifarFormat.Cifar100, CifarSplit.Test) => ["test.bin"],
            _ => throw new ArgumentOutOfRangeException(nameof(split), split, "split must be Train or Test."),
        };
        var paths = names.Select(n => Path.Combine(dataFolder, n)).ToArray();
        foreach (string path in paths)
            if (!File.Exists(path)) throw new FileNotFoundException($"CIFAR file '{path}' is missing.", path);
        return ReadFiles(paths, format, ReadClassNames(dataFolder, format));
    }

    /// <summary>
    /// Reads CIFAR binary files, one after the other. <paramref name="classNames"/> defaults to the meta file next to
    /// the first file, or the published names. Throws <see cref="InvalidDataException"/> naming the file when its
    /// length is not a whole number of records or a label is out of range.
    /// </summary>
    public static ImageSet ReadFiles(IReadOnlyList<string> paths, CifarFormat format = CifarFormat.Cifar10, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(paths);
        if (paths.Count == 0) throw new ArgumentException("At least one CIFAR file is needed.", nameof(paths));
        if (format is not (CifarFormat.Cifar10 or CifarFormat.Cifar100))
            throw new ArgumentOutOfRangeException(nameof(format), format, "format must be Cifar10 or Cifar100.");
        var fullPaths = paths.Select(Path.GetFullPath).ToArray();
        classNames ??= ReadClassNames(Path.GetDirectoryName(fullPaths[0])!, format);

        int recordBytes = RecordBytes(format), labelBytes = LabelBytes(format);
        var contents = new List<(string Path, byte[] Data)>();
        long total = 0;
        foreach (string path in fullPaths)
        {
            byte[] data = File.ReadAllBytes(path);
            if (data.Length == 0 || data.Length % recordBytes != 0)
                throw new InvalidDataException(
                    $"CIFAR file '{path}' has {data.Length} bytes, not a positive multiple of the {recordBytes}-byte {format} record " +
                    $"({labelBytes} label byte{(labelBytes > 1 ? "s" : "")} + {ImageBytes} pixel bytes); " +
                    $"{data.Length / recordBytes} whole records and {data.Length % recordBytes} bytes left over.");
            contents.Add((path, data));
            total += data.Length / recordBytes;
        }
        if (total > int.MaxValue / ImageBytes) throw new InvalidDataException($"The CIFAR files hold {total} images, too many for one image set.");

        var pixels = new byte[total * ImageBytes];
        var labels = new long[total];
        var relativePaths = new string?[total];
        int n = 0;
        foreach (var (path, data) in contents)
        {
            string stem = Path.GetFileNameWithoutExtension(path);
            for (int record = 0; record < data.Length / recordBytes; record++, n++)
            {
                int offset = record * recordBytes;
                int label = data[offset + labelBytes - 1]; // CIFAR-100: the second byte is the fine label.
                if (label >= classNames.Count)
                    throw new InvalidDataException($"CIFAR file '{path}', record {record}: label {label} is outside [0, {classNames.Count - 1}] for {classNames.Count} classes.");
                labels[n] = label;
                data.AsSpan(offset + labelBytes, ImageBytes).CopyTo(pixels.AsSpan(n * ImageBytes, ImageBytes));
                relativePaths[n] = $"{classNames[label]}/{stem}_{record.ToString("D5", CultureInfo.InvariantCulture)}.png";
            }
        }
        return new ImageSet(pixels, labels, 3, 32, 32, classNames, relativePaths);
    }

    /// <summary>Label bytes per record: 1 for CIFAR-10, 2 (coarse, fine) for CIFAR-100.</summary>
    public static int LabelBytes(CifarFormat format) => format == CifarFormat.Cifar100 ? 2 : 1;

    private static string FindDataFolder(string folder, CifarFormat format)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"CIFAR folder '{folder}' does not exist.");
        string nested = Path.Combine(folder, format == CifarFormat.Cifar10 ? "cifar-10-batches-bin" : "cifar-100-binary");
        string probe = format == CifarFormat.Cifar10 ? "test_batch.bin" : "test.bin";
        return !File.Exists(Path.Combine(folder, probe)) && Directory.Exists(nested) ? nested : folder;
    }

    private static IReadOnlyList<string> ReadClassNames(string folder, CifarFormat format)
    {
        string meta = Path.Combine(folder, format == CifarFormat.Cifar10 ? "batches.meta.txt" : "fine_label_names.txt");
        var fallback = format == CifarFormat.Cifar10 ? CifarClassNames.Cifar10 : CifarClassNames.Cifar100;
        if (!File.Exists(meta)) return fallback;
        // The published meta files pad the list with blank lines.
        var names = File.ReadAllLines(meta).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        return names.Length > 0 ? names : fallback;
    }
}
