using FluentAssertions;
using Robustness.Data;
using Xunit;

namespace Robustness.Tests.Data;

public class CifarBinaryTests
{
    private static byte[] Record(int label, int seed, int labelBytes = 1)
    {
        var record = new byte[labelBytes + 3072];
        for (int b = 0; b < labelBytes; b++) record[b] = (byte)label;
        new Random(seed).NextBytes(record.AsSpan(labelBytes));
        return record;
    }

    [Fact]
    public void A_hand_made_cifar10_file_is_read_as_channel_first_images()
    {
        using var folder = new TempFolder();
        var records = new[] { Record(3, 1), Record(0, 2), Record(9, 3) };
        File.WriteAllBytes(folder.File("test_batch.bin"), records.SelectMany(r => r).ToArray());

        var set = CifarBinaryReader.ReadSplit(folder.Path, CifarSplit.Test);

        (set.Count, set.Channels, set.Height, set.Width).Should().Be((3, 3, 32, 32));
        set.Labels.ToArray().Should().Equal(3L, 0L, 9L);
        set.ClassNames.Should().Equal(CifarClassNames.Cifar10);
        set.GetImage(1).ToArray().Should().Equal(records[1].Skip(1));
        set.GetRelativePath(2).Should().Be("truck/test_batch_00002.png");
    }

    [Fact]
    public void Cifar_written_as_png_reads_back_as_the_same_class_folder_set()
    {
        using var folder = new TempFolder();
        string path = folder.File("data/test_batch.bin");
        File.WriteAllBytes(path, Enumerable.Range(0, 20).SelectMany(i => Record(i % 10, i)).ToArray());
        var cifar = CifarBinaryReader.ReadFiles([path]);

        PngImageWriter.Write(cifar, Path.Combine(folder.Path, "png"));
        var back = ImageFolderReader.Read(Path.Combine(folder.Path, "png"), new ImageFolderOptions { Strict = true }).Images;

        back.ClassNames.Should().Equal(CifarClassNames.Cifar10);   // the published names are already in ordinal order
        var byPath = Enumerable.Range(0, back.Count).ToDictionary(i => back.GetRelativePath(i)!);
        for (int i = 0; i < cifar.Count; i++)
        {
            int j = byPath[cifar.GetRelativePath(i)!];
            back.GetLabel(j).Should().Be(cifar.GetLabel(i));
            back.GetImage(j).ToArray().Should().Equal(cifar.GetImage(i).ToArray());
        }
    }

    [Fact]
    public void Class_names_come_from_batches_meta_when_present()
    {
        using var folder = new TempFolder();
        File.WriteAllBytes(folder.File("cifar-10-batches-bin/test_batch.bin"), Record(1, 1));
        File.WriteAllText(folder.File("cifar-10-batches-bin/batches.meta.txt"), "zero\none\n\n");

        var set = CifarBinaryReader.ReadSplit(folder.Path, CifarSplit.Test);

        set.ClassNames.Should().Equal("zero", "one");
    }

    [Fact]
    public void Write_then_read_round_trips_cifar10_and_cifar100()
    {
        using var folder = new TempFolder();
        var original = SyntheticImageSet.Generate(7, seed: 5);
        foreach (var format in new[] { CifarFormat.Cifar10, CifarFormat.Cifar100 })
        {
            string path = folder.File($"{format}.bin");
            CifarBinaryWriter.Write(original, path, format);

            new FileInfo(path).Length.Should().Be(7L * CifarBinaryReader.RecordBytes(format));
            var read = CifarBinaryReader.ReadFiles([path], format);
            read.Pixels.ToArray().Should().Equal(original.Pixels.ToArray());
            read.Labels.ToArray().Should().Equal(original.Labels.ToArray());
        }
    }

    [Fact]
    public void The_train_split_reads_five_batches_in_order()
    {
        using var folder = new TempFolder();
        for (int b = 1; b <= 5; b++) File.WriteAllBytes(folder.File($"data_batch_{b}.bin"), Record(b, b));

        var set = CifarBinaryReader.ReadSplit(folder.Path, CifarSplit.Train);

        set.Labels.ToArray().Should().Equal(1L, 2L, 3L, 4L, 5L);
    }

    [Fact]
    public void A_missing_batch_is_named()
    {
        using var folder = new TempFolder();
        File.WriteAllBytes(folder.File("data_batch_1.bin"), Record(0, 0));

        var act = () => CifarBinaryReader.ReadSplit(folder.Path, CifarSplit.Train);

        act.Should().Throw<FileNotFoundException>().WithMessage("*data_batch_2.bin*");
    }

    [Fact]
    public void A_wrong_record_size_names_the_file_and_the_sizes()
    {
        using var folder = new TempFolder();
        string path = folder.File("test_batch.bin");
        File.WriteAllBytes(path, Record(1, 1).Concat(new byte[100]).ToArray());

        var act = () => CifarBinaryReader.ReadFiles([path]);

        act.Should().Throw<InvalidDataException>().WithMessage("*test_batch.bin*3173 bytes*3073-byte*1 whole records and 100 bytes left over*");
    }

    [Fact]
    public void A_label_out_of_range_is_named()
    {
        using var folder = new TempFolder();
        string path = folder.File("test_batch.bin");
        File.WriteAllBytes(path, Record(0, 1).Concat(Record(12, 2)).ToArray());

        var act = () => CifarBinaryReader.ReadFiles([path]);

        act.Should().Throw<InvalidDataException>().WithMessage("*test_batch.bin*record 1*label 12*");
    }
}
