using FluentAssertions;
using Robustness.Data;
using Xunit;

namespace Robustness.Tests.Data;

public class ImageFolderReaderTests
{
    /// <summary>root/B/one.png, root/a/{two.bmp, sub/three.webp, readme.txt}, root/c/four.png, root/top.png, root/.hidden/x.png</summary>
    private static TempFolder MakeFolder()
    {
        var folder = new TempFolder();
        using (var i = TestFiles.Gradient(8, 8, 1)) TestFiles.Save(i, folder.File("B/one.png"));
        using (var i = TestFiles.Gradient(8, 8, 2)) TestFiles.Save(i, folder.File("a/two.bmp"));
        using (var i = TestFiles.Gradient(8, 8, 3)) TestFiles.Save(i, folder.File("a/sub/three.webp"));
        using (var i = TestFiles.Gradient(8, 8, 4)) TestFiles.Save(i, folder.File("c/four.png"));
        using (var i = TestFiles.Gradient(8, 8, 5)) TestFiles.Save(i, folder.File("top.png"));
        using (var i = TestFiles.Gradient(8, 8, 6)) TestFiles.Save(i, folder.File(".hidden/x.png"));
        File.WriteAllText(folder.File("a/readme.txt"), "not an image");
        return folder;
    }

    [Fact]
    public void Classes_are_sorted_subfolders_and_paths_are_kept()
    {
        using var folder = MakeFolder();

        var result = ImageFolderReader.Read(folder.Path);

        var set = result.Images;
        set.ClassNames.Should().Equal("B", "a", "c");
        set.Count.Should().Be(4);
        Enumerable.Range(0, 4).Select(set.GetRelativePath).Should().Equal("B/one.png", "a/sub/three.webp", "a/two.bmp", "c/four.png");
        set.Labels.ToArray().Should().Equal(0L, 1L, 1L, 2L);
        using (var expected = TestFiles.Gradient(8, 8, 3)) set.GetImage(1).ToArray().Should().Equal(TestFiles.ChannelFirst(expected));
        result.SkippedFiles.Should().Equal("a/readme.txt", "top.png");
        result.Errors.Should().BeEmpty();
    }

    [Fact]
    public void Unreadable_files_are_listed_and_the_rest_is_read()
    {
        using var folder = MakeFolder();
        File.WriteAllBytes(folder.File("a/empty.png"), []);
        TestFiles.TruncatedJpeg(folder.File("B/cut.jpg"));
        File.WriteAllText(folder.File("c/fake.gif"), "GIF? no");
        using (var i = TestFiles.Gradient(9, 8)) TestFiles.Save(i, folder.File("c/odd-size.png"));

        var result = ImageFolderReader.Read(folder.Path);

        result.Images.Count.Should().Be(4);
        result.Errors.Select(e => e.RelativePath).Should().Equal("B/cut.jpg", "a/empty.png", "c/fake.gif", "c/odd-size.png");
        result.Errors[0].Message.Should().Contain("truncated JPEG");
        result.Errors[1].Message.Should().Contain("empty");
        result.Errors[2].Message.Should().Contain("not a PNG");
        result.Errors[3].Message.Should().Contain("9x8").And.Contain("8x8");
    }

    [Fact]
    public void Strict_reading_throws_at_the_first_bad_file_in_order()
    {
        using var folder = MakeFolder();
        File.WriteAllBytes(folder.File("c/empty.png"), []);
        TestFiles.TruncatedJpeg(folder.File("a/cut.jpg"));

        var act = () => ImageFolderReader.Read(folder.Path, new ImageFolderOptions { Strict = true });

        act.Should().Throw<InvalidDataException>().WithMessage("*a/cut.jpg*truncated JPEG*");
    }

    [Fact]
    public void Too_large_images_are_errors_by_max_pixels()
    {
        using var folder = MakeFolder();
        using (var i = TestFiles.Gradient(30, 30)) TestFiles.Save(i, folder.File("c/huge.png"));

        var result = ImageFolderReader.Read(folder.Path, new ImageFolderOptions { MaxPixels = 100 });

        result.Errors.Should().ContainSingle().Which.RelativePath.Should().Be("c/huge.png");
        result.Images.Count.Should().Be(4);
    }

    [Fact]
    public void A_target_size_policy_resizes_mixed_sizes()
    {
        using var folder = new TempFolder();
        using (var i = TestFiles.Gradient(20, 30)) TestFiles.Save(i, folder.File("x/a.png"));
        using (var i = TestFiles.Gradient(7, 5)) TestFiles.Save(i, folder.File("y/b.jpg"));

        var result = ImageFolderReader.Read(folder.Path, new ImageFolderOptions { Size = SizePolicy.Resize(16, 16) });

        result.Errors.Should().BeEmpty();
        (result.Images.Count, result.Images.Height, result.Images.Width).Should().Be((2, 16, 16));
    }

    [Fact]
    public void The_result_does_not_depend_on_threading()
    {
        using var folder = new TempFolder();
        for (int i = 0; i < 12; i++)
            using (var image = TestFiles.Gradient(8, 8, i)) TestFiles.Save(image, folder.File($"{"pq"[i % 2]}/{i:D2}.png"));

        var one = ImageFolderReader.Read(folder.Path, new ImageFolderOptions { MaxDegreeOfParallelism = 1 }).Images;
        var all = ImageFolderReader.Read(folder.Path).Images;

        all.Pixels.ToArray().Should().Equal(one.Pixels.ToArray());
        all.Labels.ToArray().Should().Equal(one.Labels.ToArray());
    }

    [Fact]
    public void A_folder_with_nothing_readable_is_an_error()
    {
        using var folder = new TempFolder();
        File.WriteAllBytes(folder.File("x/empty.png"), []);

        var act = () => ImageFolderReader.Read(folder.Path);

        act.Should().Throw<InvalidDataException>().WithMessage("*No image*x/empty.png*");
    }

    [Fact]
    public void Options_are_validated()
    {
        var act = () => new ImageFolderOptions { MaxPixels = 0 }.Validate();
        act.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("MaxPixels");
    }
}
