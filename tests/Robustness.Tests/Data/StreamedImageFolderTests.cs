using FluentAssertions;
using Robustness.Data;
using Xunit;

namespace Robustness.Tests.Data;

public class StreamedImageFolderTests
{
    [Fact]
    public void Streamed_images_equal_the_eagerly_read_ones()
    {
        using var folder = new TempFolder();
        for (int i = 0; i < 6; i++)
            using (var image = TestFiles.Gradient(10, 12, i)) TestFiles.Save(image, folder.File($"{"uv"[i % 2]}/{i}{(i % 3 == 0 ? ".webp" : ".png")}"));

        var eager = ImageFolderReader.Read(folder.Path).Images;
        var streamed = StreamedImageFolder.Open(folder.Path);

        (streamed.Count, streamed.Channels, streamed.Height, streamed.Width).Should().Be((6, 3, 10, 12));
        streamed.ClassNames.Should().Equal(eager.ClassNames);
        var loaded = ImageSet.From(streamed);
        loaded.Pixels.ToArray().Should().Equal(eager.Pixels.ToArray());
        loaded.Labels.ToArray().Should().Equal(eager.Labels.ToArray());
        Enumerable.Range(0, 6).Select(streamed.GetRelativePath).Should().Equal(Enumerable.Range(0, 6).Select(eager.GetRelativePath));
        using var batch = ImageBatches.Read(streamed, [5, 0]);
        batch.Images.shape.Should().Equal(2L, 3L, 10L, 12L);
    }

    [Fact]
    public void A_bad_file_fails_when_it_is_read_naming_the_file()
    {
        using var folder = new TempFolder();
        using (var image = TestFiles.Gradient(8, 8)) TestFiles.Save(image, folder.File("a/good.png"));
        TestFiles.TruncatedJpeg(folder.File("b/cut.jpg"));

        var streamed = StreamedImageFolder.Open(folder.Path, new ImageFolderOptions { Size = SizePolicy.Require(8, 8) });
        var buffer = new byte[3 * 8 * 8];

        streamed.CopyImage(0, buffer);
        var act = () => streamed.CopyImage(1, buffer);
        act.Should().Throw<InvalidDataException>().WithMessage("*cut.jpg*truncated JPEG*");
    }

    [Fact]
    public void The_size_policy_applies_when_streaming()
    {
        using var folder = new TempFolder();
        using (var image = TestFiles.Gradient(20, 24)) TestFiles.Save(image, folder.File("a/big.png"));

        var streamed = StreamedImageFolder.Open(folder.Path, new ImageFolderOptions { Size = SizePolicy.CenterCrop(8, 8) });

        (streamed.Height, streamed.Width).Should().Be((8, 8));
        var buffer = new byte[3 * 8 * 8];
        streamed.CopyImage(0, buffer);
        buffer.Should().Equal(ImageFileReader.Read(folder.File("a/big.png"), SizePolicy.CenterCrop(8, 8)).Pixels);
    }
}
