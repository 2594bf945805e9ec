using FluentAssertions;
using Robustness.Data;
using Xunit;

namespace Robustness.Tests.Data;

public class PngImageWriterTests
{
    private static ImageSet RandomSet(IReadOnlyList<string?> paths, int seed = 1)
    {
        var pixels = new byte[paths.Count * 3 * 9 * 7];
        new Random(seed).NextBytes(pixels);
        var labels = Enumerable.Range(0, paths.Count).Select(i => (long)(i % 2)).ToArray();
        return new ImageSet(pixels, labels, 3, 9, 7, ["cat", "dog"], paths);
    }

    [Fact]
    public void ImageSet_to_png_to_ImageSet_is_bit_exact()
    {
        using var folder = new TempFolder();
        var set = RandomSet(["cat/a.jpg", "dog/x/b.png", null, null, "cat/c.webp"]);

        var written = PngImageWriter.Write(set, folder.Path);

        written.Should().Equal("cat/a.png", "dog/x/b.png", "cat/000002.png", "dog/000003.png", "cat/c.png");
        var read = ImageFolderReader.Read(folder.Path, new ImageFolderOptions { Strict = true }).Images;
        read.ClassNames.Should().Equal("cat", "dog");
        var order = written.Select((path, i) => (path, i)).OrderBy(p => p.path.StartsWith("dog") ? 1 : 0).ThenBy(p => p.path, StringComparer.Ordinal).Select(p => p.i).ToArray();
        read.Pixels.ToArray().Should().Equal(set.Subset(order).Pixels.ToArray());
        read.Labels.ToArray().Should().Equal(set.Subset(order).Labels.ToArray());
        Directory.EnumerateFiles(folder.Path, "*.tmp", SearchOption.AllDirectories).Should().BeEmpty();
    }

    [Fact]
    public void Writing_again_replaces_the_files()
    {
        using var folder = new TempFolder();
        PngImageWriter.Write(RandomSet(["cat/a.png"], seed: 1), folder.Path);
        var second = RandomSet(["cat/a.png"], seed: 2);

        PngImageWriter.Write(second, folder.Path);

        ImageFileReader.Read(Path.Combine(folder.Path, "cat/a.png")).Pixels.Should().Equal(second.Pixels.ToArray());
    }

    [Theory]
    [InlineData("../escape.png")]
    [InlineData("cat/../../escape.png")]
    [InlineData("/tmp/escape.png")]
    [InlineData("..\\escape.png")]
    [InlineData("cat/")]
    public void Paths_leaving_the_root_are_refused(string path)
    {
        using var folder = new TempFolder();

        var act = () => PngImageWriter.Write(RandomSet([path]), Path.Combine(folder.Path, "out"));

        act.Should().Throw<ArgumentException>().WithParameterName("relativePath");
        Directory.EnumerateFiles(folder.Path, "*", SearchOption.AllDirectories).Should().BeEmpty();
    }

    [Fact]
    public void A_linked_folder_pointing_outside_the_root_is_refused()
    {
        using var folder = new TempFolder();
        string root = Path.Combine(folder.Path, "out");
        string outside = Path.Combine(folder.Path, "outside");
        Directory.CreateDirectory(root);
        Directory.CreateDirectory(outside);
        Directory.CreateSymbolicLink(Path.Combine(root, "cat"), outside);

        var act = () => PngImageWriter.Write(RandomSet(["cat/a.png"]), root);

        act.Should().Throw<ArgumentException>().WithMessage("*link*outside the output root*");
        Directory.EnumerateFiles(outside).Should().BeEmpty();
    }

    [Fact]
    public void A_linked_folder_inside_the_root_is_allowed()
    {
        using var folder = new TempFolder();
        string root = Path.Combine(folder.Path, "out");
        Directory.CreateDirectory(Path.Combine(root, "real"));
        Directory.CreateSymbolicLink(Path.Combine(root, "cat"), Path.Combine(root, "real"));

        PngImageWriter.Write(RandomSet(["cat/a.png"]), root);

        File.Exists(Path.Combine(root, "real", "a.png")).Should().BeTrue();
    }

    [Fact]
    public void Two_images_for_one_file_are_refused_before_writing()
    {
        using var folder = new TempFolder();

        var act = () => PngImageWriter.Write(RandomSet(["cat/a.jpg", "cat/a.png"]), folder.Path);

        act.Should().Throw<ArgumentException>().WithMessage("*Images 0 and 1*cat/a.png*");
        Directory.EnumerateFiles(folder.Path, "*", SearchOption.AllDirectories).Should().BeEmpty();
    }

    [Fact]
    public void One_image_can_be_written_alone()
    {
        using var folder = new TempFolder();
        var pixels = Enumerable.Range(0, 3 * 4 * 5).Select(i => (byte)(i * 4)).ToArray();

        string path = PngImageWriter.WriteImage(pixels, 3, 4, 5, folder.Path, "x/y.bmp");

        path.Should().EndWith("y.png");
        ImageFileReader.Read(path).Pixels.Should().Equal(pixels);
    }
}
