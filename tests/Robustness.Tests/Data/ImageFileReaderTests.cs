using FluentAssertions;
using Robustness.Data;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using Xunit;

namespace Robustness.Tests.Data;

public class ImageFileReaderTests
{
    [Theory]
    [InlineData(".png")]
    [InlineData(".bmp")]
    [InlineData(".webp")]
    public void Lossless_formats_read_back_exactly(string extension)
    {
        using var folder = new TempFolder();
        using var image = TestFiles.Gradient(12, 20);
        string path = TestFiles.Save(image, folder.File("img" + extension));

        var read = ImageFileReader.Read(path);

        read.Height.Should().Be(12);
        read.Width.Should().Be(20);
        read.Pixels.Should().Equal(TestFiles.ChannelFirst(image));
    }

    [Theory]
    [InlineData(".jpg")]
    [InlineData(".jpeg")]
    [InlineData(".gif")]
    public void Lossy_or_palette_formats_read_back_closely(string extension)
    {
        using var folder = new TempFolder();
        using var image = TestFiles.Gradient(16, 16);
        string path = TestFiles.Save(image, folder.File("img" + extension));

        var read = ImageFileReader.Read(path);

        (read.Height, read.Width).Should().Be((16, 16));
        TestFiles.MeanAbsoluteDifference(read.Pixels, TestFiles.ChannelFirst(image)).Should().BeLessThan(12);
    }

    [Fact]
    public void Grayscale_is_copied_to_all_three_channels()
    {
        using var folder = new TempFolder();
        using var gray = new Image<L8>(5, 4);
        for (int y = 0; y < 4; y++) for (int x = 0; x < 5; x++) gray[x, y] = new L8((byte)(x * 40 + y));
        string path = TestFiles.Save(gray, folder.File("gray.png"), new PngEncoder { ColorType = PngColorType.Grayscale });

        var read = ImageFileReader.Read(path);

        var plane = read.Pixels.AsSpan(0, 20).ToArray();
        plane[7].Should().Be((byte)(2 * 40 + 1));
        read.Pixels.AsSpan(20, 20).ToArray().Should().Equal(plane);
        read.Pixels.AsSpan(40, 20).ToArray().Should().Equal(plane);
    }

    [Fact]
    public void Alpha_is_dropped_keeping_the_stored_colours()
    {
        using var folder = new TempFolder();
        using var rgba = new Image<Rgba32>(2, 1);
        rgba[0, 0] = new Rgba32(200, 100, 50, 0);   // fully transparent: the colour is kept, not blended
        rgba[1, 0] = new Rgba32(10, 20, 30, 128);
        string path = TestFiles.Save(rgba, folder.File("rgba.png"),
            new PngEncoder { ColorType = PngColorType.RgbWithAlpha, TransparentColorMode = PngTransparentColorMode.Preserve });

        ImageFileReader.Read(path).Pixels.Should().Equal(200, 10, 100, 20, 50, 30);
    }

    [Fact]
    public void Sixteen_bit_png_is_scaled_to_eight_bits()
    {
        using var folder = new TempFolder();
        using var deep = new Image<Rgb48>(3, 1);
        deep[0, 0] = new Rgb48(0, 65535, 257 * 100);
        deep[1, 0] = new Rgb48(257 * 1, 257 * 254, 257 * 17);
        deep[2, 0] = new Rgb48(257 * 128, 257 * 64, 257 * 32);
        string path = TestFiles.Save(deep, folder.File("deep.png"), new PngEncoder { ColorType = PngColorType.Rgb, BitDepth = PngBitDepth.Bit16 });

        ImageFileReader.Read(path).Pixels.Should().Equal(0, 1, 128, 255, 254, 64, 100, 17, 32);
    }

    [Fact]
    public void Palette_png_is_expanded_to_rgb()
    {
        using var folder = new TempFolder();
        using var image = new Image<Rgb24>(4, 2);
        for (int x = 0; x < 4; x++) { image[x, 0] = new Rgb24(255, 0, 0); image[x, 1] = new Rgb24(0, 0, 255); }
        string path = TestFiles.Save(image, folder.File("palette.png"), new PngEncoder { ColorType = PngColorType.Palette });

        var read = ImageFileReader.Read(path);

        read.Pixels.Should().Equal(TestFiles.ChannelFirst(image));
    }

    [Fact]
    public void An_animated_gif_gives_its_first_frame()
    {
        using var folder = new TempFolder();
        using var image = new Image<Rgb24>(4, 4, new Rgb24(255, 0, 0));
        using var second = new Image<Rgb24>(4, 4, new Rgb24(0, 0, 255));
        image.Frames.AddFrame(second.Frames.RootFrame);
        string path = TestFiles.Save(image, folder.File("anim.gif"));

        var read = ImageFileReader.Read(path);

        read.Pixels.Should().Equal(Enumerable.Repeat((byte)255, 16).Concat(new byte[32]));
    }

    [Fact]
    public void The_format_is_recognised_by_content_not_extension()
    {
        using var folder = new TempFolder();
        using var image = TestFiles.Gradient(6, 6);
        string path = TestFiles.Save(image, folder.File("really-a-png.jpg"), TestFiles.EncoderFor(".png"));

        ImageFileReader.Read(path).Pixels.Should().Equal(TestFiles.ChannelFirst(image));
    }

    [Fact]
    public void An_empty_file_names_the_file()
    {
        using var folder = new TempFolder();
        string path = folder.File("empty.png");
        File.WriteAllBytes(path, []);

        var act = () => ImageFileReader.Read(path);

        act.Should().Throw<InvalidDataException>().WithMessage("*empty.png*empty (0 bytes)*");
    }

    [Fact]
    public void A_truncated_jpeg_is_rejected()
    {
        using var folder = new TempFolder();
        string path = TestFiles.TruncatedJpeg(folder.File("cut.jpg"));

        var act = () => ImageFileReader.Read(path);

        act.Should().Throw<InvalidDataException>().WithMessage("*cut.jpg*truncated JPEG*");
    }

    [Fact]
    public void A_truncated_png_is_rejected()
    {
        using var folder = new TempFolder();
        using var image = TestFiles.Gradient(16, 16);
        string path = TestFiles.Save(image, folder.File("cut.png"));
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes.AsSpan(0, bytes.Length - 20).ToArray());

        var act = () => ImageFileReader.Read(path);

        act.Should().Throw<InvalidDataException>().WithMessage("*cut.png*");
    }

    [Fact]
    public void A_file_that_is_not_an_image_is_rejected()
    {
        using var folder = new TempFolder();
        string path = folder.File("notes.png");
        File.WriteAllText(path, "this is not an image at all");

        var act = () => ImageFileReader.Read(path);

        act.Should().Throw<InvalidDataException>().WithMessage("*notes.png*not a PNG, JPEG, BMP, GIF or WebP image*");
    }

    [Fact]
    public void An_image_over_max_pixels_is_rejected_before_decoding()
    {
        using var folder = new TempFolder();
        using var image = TestFiles.Gradient(10, 10);
        string path = TestFiles.Save(image, folder.File("big.png"));

        var act = () => ImageFileReader.Read(path, maxPixels: 99);

        act.Should().Throw<InvalidDataException>().WithMessage("*big.png*100 pixels, more than MaxPixels = 99*");
    }

    [Fact]
    public void Size_policies_give_the_target_size()
    {
        using var folder = new TempFolder();
        using var image = TestFiles.Gradient(12, 20);
        string path = TestFiles.Save(image, folder.File("img.png"));

        ImageFileReader.Read(path, SizePolicy.Resize(8, 8)).Should().Match<RgbImage>(r => r.Height == 8 && r.Width == 8);
        ImageFileReader.Read(path, SizePolicy.ResizeShorterThenCenterCrop(6, 6)).Should().Match<RgbImage>(r => r.Height == 6 && r.Width == 6);
        var act = () => ImageFileReader.Read(path, SizePolicy.Require(12, 21));
        act.Should().Throw<InvalidDataException>().WithMessage("*img.png*12x20*12x21*");
    }

    [Fact]
    public void Center_crop_cuts_the_middle_exactly()
    {
        using var folder = new TempFolder();
        using var image = TestFiles.Gradient(10, 12);
        string path = TestFiles.Save(image, folder.File("img.png"));
        using var expected = image.Clone(x => x.Crop(new Rectangle(3, 2, 6, 6)));

        var read = ImageFileReader.Read(path, SizePolicy.CenterCrop(6, 6));

        read.Pixels.Should().Equal(TestFiles.ChannelFirst(expected));
        var tooSmall = () => ImageFileReader.Read(path, SizePolicy.CenterCrop(11, 6));
        tooSmall.Should().Throw<InvalidDataException>().WithMessage("*smaller than the 11x6 centre crop*");
    }

    [Fact]
    public void Size_policy_arguments_are_checked()
    {
        var act = () => SizePolicy.Resize(0, 5);
        act.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("height");
    }
}
