using FluentAssertions;
using Robustness.Data;
using Robustness.Protection;
using Robustness.Protection.Batch;
using Robustness.Tests.Data;
using SixLabors.ImageSharp;
using Xunit;

namespace Robustness.Tests.Protection.Batch;

public sealed class FolderProtectionJobTests : IDisposable
{
    private const double Eps = 8.0 / 255.0;
    private readonly TempFolder _temp = new();
    private readonly string _input;
    private readonly string _output;

    public FolderProtectionJobTests()
    {
        _input = Path.Combine(_temp.Path, "in");
        _output = Path.Combine(_temp.Path, "out");
    }

    public void Dispose() => _temp.Dispose();

    private static RandomNoiseProtector Random(double eps = Eps, int seed = 1) => new(new RandomNoiseOptions { Epsilon = eps, Seed = seed });

    private FolderProtectionResult Protect(IDataProtector? protector = null, string? output = null, int batchSize = 4, Shard? shard = null,
        long maxPixels = ImageFileReader.DefaultMaxPixels, IProgress<ProtectionProgress>? progress = null, CancellationToken cancel = default) =>
        new FolderProtectionJob(protector ?? Random(), new FolderProtectionOptions
        {
            InputRoot = _input, OutputRoot = output ?? _output, BatchSize = batchSize, Shard = shard ?? Shard.Whole, MaxPixels = maxPixels,
        }).Run(progress, cancel);

    [Fact]
    public void A_run_protects_every_file_within_the_bound_and_verify_passes()
    {
        BatchTestData.WriteFolder(_input);

        var result = Protect();

        result.Protected.Should().Be(15);
        result.Failed.Should().Be(0);
        result.AlreadyDone.Should().Be(0);
        result.ImageSize.Should().Be((8, 8));
        var records = ManifestReader.Read(OutputLayout.ManifestFile(_output, Shard.Whole));
        records.Should().HaveCount(15).And.OnlyContain(r => r.IsOk && r.MaxDelta == 8 && r.Method == "random");
        records.Select(r => r.Input).Should().BeInAscendingOrder(StringComparer.Ordinal);
        var verification = ProtectedFolderVerifier.Verify(_input, _output);
        verification.Passed.Should().BeTrue(string.Join("\n", verification.Problems));
        verification.Checked.Should().Be(15);
        ProtectionRunSettings.TryReadFrom(_output)!.Method.Should().Be("random");
        // The output reads back as the same class-folder data set (the bookkeeping folder is hidden).
        ImageFolderIndex.Scan(_output).Files.Should().HaveCount(15);
    }

    [Fact]
    public void A_resumed_run_skips_intact_files_and_redoes_missing_or_damaged_ones_with_the_same_bytes()
    {
        BatchTestData.WriteFolder(_input);
        Protect();
        var first = BatchTestData.Outputs(_output);
        var times = Directory.EnumerateFiles(_output, "*.png", SearchOption.AllDirectories).ToDictionary(f => f, File.GetLastWriteTimeUtc);

        var again = Protect();
        again.AlreadyDone.Should().Be(15);
        again.Protected.Should().Be(0);
        times.Should().OnlyContain(t => File.GetLastWriteTimeUtc(t.Key) == t.Value, "finished files are not rewritten");

        File.Delete(Path.Combine(_output, "class0", "img01.png"));
        File.WriteAllBytes(Path.Combine(_output, "class2", "img04.png"), [1, 2, 3]);
        var third = Protect();
        third.AlreadyDone.Should().Be(13);
        third.Protected.Should().Be(2);
        BatchTestData.Outputs(_output).Should().BeEquivalentTo(first);
    }

    [Fact]
    public void An_interrupted_run_with_a_torn_manifest_line_resumes_to_the_bytes_of_an_uninterrupted_run()
    {
        BatchTestData.WriteFolder(_input);
        string reference = Path.Combine(_temp.Path, "reference");
        Protect(output: reference, batchSize: 4);

        using var cancel = new CancellationTokenSource();
        var stop = new Robustness.Tests.Protection.Batch.Reporter(p => { if (p.Stage == "protect" && p.Done >= 4) cancel.Cancel(); });
        var interrupted = () => Protect(batchSize: 4, progress: stop, cancel: cancel.Token);
        interrupted.Should().Throw<OperationCanceledException>();
        string manifest = OutputLayout.ManifestFile(_output, Shard.Whole);
        ManifestReader.Read(manifest).Should().HaveCount(4);
        File.AppendAllText(manifest, "{\"input\":\"class1/img0");                    // a record torn by kill -9
        // A temporary file left by a write that was killed.
        File.WriteAllBytes(Path.Combine(_output, "class0", $".img00.png.{Guid.NewGuid():N}.tmp"), [1]);

        var resumed = Protect(batchSize: 4);

        resumed.AlreadyDone.Should().Be(4);
        resumed.Protected.Should().Be(11);
        resumed.RemovedTempFiles.Should().Be(1);
        BatchTestData.Outputs(_output).Should().BeEquivalentTo(BatchTestData.Outputs(reference));
        ManifestReader.Read(manifest).Should().HaveCount(15);
        File.ReadAllLines(manifest).Should().HaveCount(15, "the torn line was cut off");
        ProtectedFolderVerifier.Verify(_input, _output).Passed.Should().BeTrue();
    }

    [Fact]
    public void Corrupt_empty_undecodable_too_large_and_wrong_sized_files_are_per_file_errors_and_the_rest_is_done()
    {
        // A protector that needs one image size (error-minimizing noise, this test's shift): other sizes are per-file errors.
        BatchTestData.WriteFolder(_input, classes: 2, perClass: 4);
        File.WriteAllBytes(Path.Combine(_input, "class0", "empty.png"), []);
        File.WriteAllText(Path.Combine(_input, "class0", "text.png"), "this is not an image at all");
        var png = File.ReadAllBytes(Path.Combine(_input, "class0", "img00.png"));
        File.WriteAllBytes(Path.Combine(_input, "class1", "cut.png"), png[..(png.Length / 2)]);
        using (var big = TestFiles.Gradient(64, 64)) big.SaveAsPng(Path.Combine(_input, "class1", "huge.png"));
        using (var odd = TestFiles.Gradient(8, 9)) odd.SaveAsPng(Path.Combine(_input, "class1", "odd.png"));

        var result = Protect(new ShiftProtector(Eps), maxPixels: 1000);

        result.Protected.Should().Be(8);
        result.Errors.Select(e => e.Input).Should().BeEquivalentTo("class0/empty.png", "class0/text.png", "class1/cut.png", "class1/huge.png", "class1/odd.png");
        result.Errors.Should().OnlyContain(e => e.Status == "error" && e.Output == null && !string.IsNullOrEmpty(e.Error));
        result.Errors.Single(e => e.Input == "class1/odd.png").Error.Should().Contain("8x8");
        result.Errors.Single(e => e.Input == "class1/huge.png").Error.Should().Contain("MaxPixels");
        ManifestReader.Read(OutputLayout.ManifestFile(_output, Shard.Whole)).Should().HaveCount(13);

        // verify: unreadable files are notes; the readable odd-sized one has no output, which is a problem.
        var verification = ProtectedFolderVerifier.Verify(_input, _output, maxPixels: 1000);
        verification.Problems.Should().ContainSingle().Which.Should().Contain("class1/odd.png");
        verification.Notes.Should().HaveCount(4);
    }

    private const string CmykJpeg =
        "/9j/7gAOQWRvYmUAZAAAAAAA/9sAQwACAQEBAQECAQEBAgICAgIEAwICAgIFBAQDBAYFBgYGBQYGBgcJCAYHCQcGBggLCAkKCgoKCgYICwwLCgwJCgoK/8AAFAgACAAIBEMRAE0RAFkRAEsRAP/EAB8AAAEFAQEBAQEBAAAAAAAAAAABAgMEBQYHCAkKC//EALUQAAIBAwMCBAMFBQQEAAABfQECAwAEEQUSITFBBhNRYQcicRQygZGhCCNCscEVUtHwJDNicoIJChYXGBkaJSYnKCkqNDU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6g4SFhoeIiYqSk5SVlpeYmZqio6Slpqeoqaqys7S1tre4ubrCw8TFxsfIycrS09TV1tfY2drh4uPk5ebn6Onq8fLz9PX29/j5+v/aAA4EQwBNAFkASwAAPwD8J6/SCvx3r9/K/9k=";

    [Fact]
    public void A_cmyk_jpeg_decodes_to_its_rgb_colours()
    {
        string path = Path.Combine(_temp.Path, "cmyk.jpg");
        File.WriteAllBytes(path, Convert.FromBase64String(CmykJpeg));

        var image = ImageFileReader.Read(path);

        image.Pixels.Chunk(64).Select(plane => (int)plane.Average(b => b)).Should().Equal([10, 200, 30],
            "the CMYK channels come back as the RGB colour they were made from (PIL reads the same file as 10, 200, 30)");
    }

    [Fact]
    public void Awkward_but_valid_inputs_are_protected_and_awkward_folders_do_not_stop_the_run()
    {
        // What people's folders hold besides plain 8-bit RGB: each is either protected (with the documented conversion
        // to 8-bit RGB) or a per-file error naming the reason, and the run finishes with the rest.
        BatchTestData.WriteFolder(_input, classes: 2, perClass: 2);
        string c0 = Path.Combine(_input, "class0"), c1 = Path.Combine(_input, "class1");
        using (var grey = new Image<SixLabors.ImageSharp.PixelFormats.L8>(8, 8, new SixLabors.ImageSharp.PixelFormats.L8(77))) grey.SaveAsPng(Path.Combine(c0, "grey.png"));
        using (var deep = new Image<SixLabors.ImageSharp.PixelFormats.Rgb48>(8, 8, new SixLabors.ImageSharp.PixelFormats.Rgb48(65535, 32896, 0)))
            deep.SaveAsPng(Path.Combine(c0, "sixteen-bit.png"), new SixLabors.ImageSharp.Formats.Png.PngEncoder { BitDepth = SixLabors.ImageSharp.Formats.Png.PngBitDepth.Bit16 });
        using (var palette = new Image<SixLabors.ImageSharp.PixelFormats.Rgba32>(8, 8, new SixLabors.ImageSharp.PixelFormats.Rgba32(200, 10, 10, 0)))
            palette.SaveAsPng(Path.Combine(c0, "palette transparent.png"), new SixLabors.ImageSharp.Formats.Png.PngEncoder { ColorType = SixLabors.ImageSharp.Formats.Png.PngColorType.Palette });
        using (var animated = TestFiles.Gradient(8, 8, salt: 5))
        {
            using var second = TestFiles.Gradient(8, 8, salt: 6);
            animated.Frames.AddFrame(second.Frames.RootFrame);
            animated.SaveAsGif(Path.Combine(c1, "animated.gif"));
        }
        using (var rotated = TestFiles.Gradient(8, 8, salt: 9))
        {
            rotated.Metadata.ExifProfile = new SixLabors.ImageSharp.Metadata.Profiles.Exif.ExifProfile();
            rotated.Metadata.ExifProfile.SetValue(SixLabors.ImageSharp.Metadata.Profiles.Exif.ExifTag.Orientation, (ushort)6);
            rotated.SaveAsJpeg(Path.Combine(c1, "exif-rotated.jpg"));
        }
        // An 8x8 CMYK JPEG of RGB (10, 200, 30), written by PIL 9.4 (Adobe-inverted CMYK, as Photoshop writes it).
        File.WriteAllBytes(Path.Combine(c0, "cmyk.jpg"), Convert.FromBase64String(CmykJpeg));
        File.Copy(Path.Combine(c1, "img00.png"), Path.Combine(c1, "ünïcode näme.png"));
        File.Copy(Path.Combine(c1, "img01.png"), Path.Combine(c1, "line\nbreak.png"));
        Directory.CreateDirectory(Path.Combine(c1, "folder.png"));
        Directory.CreateSymbolicLink(Path.Combine(c1, "loop"), c1);
        File.CreateSymbolicLink(Path.Combine(c0, "dots.png"), Path.Combine("..", "class1", "img00.png"));
        File.CreateSymbolicLink(Path.Combine(c1, "self.png"), "self.png");
        Directory.CreateSymbolicLink(Path.Combine(c0, "up"), "..");

        var result = Protect();

        var written = ManifestReader.Read(OutputLayout.ManifestFile(_output, Shard.Whole)).Where(r => r.IsOk).Select(r => r.Input).ToArray();
        written.Should().Contain(["class0/cmyk.jpg", "class0/grey.png", "class0/sixteen-bit.png", "class0/palette transparent.png", "class1/animated.gif",
            "class1/exif-rotated.jpg", "class1/ünïcode näme.png", "class1/line\nbreak.png", "class0/dots.png"]);
        written.Should().NotContain(w => w.Contains("folder.png", StringComparison.Ordinal), "a folder named like an image is a folder");
        result.Errors.Should().ContainSingle("a link to itself is a per-file error").Which.Should().Match<ManifestRecord>(e =>
            e.Input == "class1/self.png" && e.Error!.Contains("loop of links"));
        result.IgnoredFiles.Should().Contain(["class1/loop/", "class0/up/"], "folder links back up the tree are listed and not walked");
        File.Exists(Path.Combine(_output, "class1", "animated.png")).Should().BeTrue("the first frame, as a lossless PNG");
        // EXIF orientation is not applied: the output keeps the pixels as stored (and, as a PNG, carries no EXIF).
        using var exif = Image.Load<SixLabors.ImageSharp.PixelFormats.Rgb24>(Path.Combine(_output, "class1", "exif-rotated.png"));
        exif.Metadata.ExifProfile.Should().BeNull();
        ProtectedFolderVerifier.Verify(_input, _output).Problems.Should().BeEmpty();
    }

    [Fact]
    public void A_second_run_of_the_same_shard_refuses_while_the_first_holds_it_and_other_shards_go_on()
    {
        BatchTestData.WriteFolder(_input);
        var first = new Shard(0, 2);
        Directory.CreateDirectory(OutputLayout.StateFolder(_output));
        // What a running shard 0/2 holds (an OS lock on its lock file).
        using (var held = new FileStream(OutputLayout.LockFile(_output, first), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            var twin = () => Protect(shard: first);
            twin.Should().Throw<InvalidOperationException>().WithMessage("*Shard 0/2*another run*");
            Directory.GetFiles(_output, "*.png", SearchOption.AllDirectories).Should().BeEmpty("the refused run wrote nothing");

            Protect(shard: new Shard(1, 2)).Protected.Should().BeGreaterThan(0, "another shard has its own lock");
        }
        Protect(shard: first).Protected.Should().BeGreaterThan(0, "the lock goes with the run that held it");
        ProtectedFolderVerifier.Verify(_input, _output).Passed.Should().BeTrue();
    }

    [Fact]
    public void Verify_notices_a_manifest_record_that_names_another_input()
    {
        BatchTestData.WriteFolder(_input, classes: 1, perClass: 3);
        Protect();
        string manifest = OutputLayout.ManifestFile(_output, Shard.Whole);
        // Someone edits the record of img01 to claim it was written for img02.
        var lines = File.ReadAllLines(manifest).Select(l => l.Contains("\"class0/img01.png\",\"inputSha256\"", StringComparison.Ordinal)
            ? l.Replace("\"input\":\"class0/img01.png\"", "\"input\":\"class0/img02.png\"", StringComparison.Ordinal) : l).ToArray();
        lines.Should().Contain(l => l.Contains("\"input\":\"class0/img02.png\"", StringComparison.Ordinal) && l.Contains("\"output\":\"class0/img01.png\"", StringComparison.Ordinal));
        File.WriteAllLines(manifest, lines);

        var verification = ProtectedFolderVerifier.Verify(_input, _output);

        verification.Problems.Should().ContainSingle().Which.Should().Be("class0/img01.png: the manifest records it for class0/img02.png, not for class0/img01.png");
    }

    [Fact]
    public void A_bookkeeping_folder_that_links_elsewhere_is_refused_and_nothing_lands_there()
    {
        BatchTestData.WriteFolder(_input, classes: 1, perClass: 2);
        string elsewhere = Path.Combine(_temp.Path, "elsewhere");
        Directory.CreateDirectory(elsewhere);
        Directory.CreateDirectory(_output);
        Directory.CreateSymbolicLink(OutputLayout.StateFolder(_output), elsewhere);

        var run = () => Protect();

        run.Should().Throw<InvalidOperationException>().WithMessage("*is a link*");
        Directory.GetFileSystemEntries(elsewhere).Should().BeEmpty();
    }

    [Fact]
    public void Verify_flags_outputs_identical_to_their_inputs_as_unprotected()
    {
        BatchTestData.WriteFolder(_input, classes: 1, perClass: 3);
        Protect(Random(eps: 0));

        var verification = ProtectedFolderVerifier.Verify(_input, _output);

        verification.Passed.Should().BeFalse("a zero budget, or a protector that silently returned the clean images, protects nothing");
        verification.Problems.Should().HaveCount(3).And.OnlyContain(p => p.Contains("identical to its input, so not protected"));
    }

    [Fact]
    public void A_protector_of_any_size_writes_every_image_at_its_own_size_and_verify_passes()
    {
        BatchTestData.WriteFolder(_input, classes: 2, perClass: 2, size: 8);
        using (var wide = TestFiles.Gradient(13, 20)) wide.SaveAsPng(Path.Combine(_input, "class0", "wide.png"));
        using (var tall = TestFiles.Gradient(30, 9)) tall.SaveAsJpeg(Path.Combine(_input, "class1", "tall.jpg"));
        using (var strip = TestFiles.Gradient(1, 300)) strip.SaveAsPng(Path.Combine(_input, "class1", "strip.png"));

        var result = Protect(Random(), batchSize: 4);

        result.Protected.Should().Be(7);
        result.Errors.Should().BeEmpty();
        result.AnySize.Should().BeTrue();
        result.Sizes.Should().HaveCount(4).And.Contain(((8, 8), 4));
        foreach (var (input, output) in new[] { ("class0/wide.png", "class0/wide.png"), ("class1/tall.jpg", "class1/tall.png"), ("class1/strip.png", "class1/strip.png") })
        {
            var clean = ImageFileReader.Read(Path.Combine(_input, input));
            var stored = ImageFileReader.Read(Path.Combine(_output, output));
            (stored.Height, stored.Width).Should().Be((clean.Height, clean.Width), input);
        }
        ProtectedFolderVerifier.Verify(_input, _output).Passed.Should().BeTrue();
    }

    [Fact]
    public void A_batch_goes_to_the_protector_in_groups_of_one_size_and_chunks_that_fit_the_memory_budget()
    {
        BatchTestData.WriteFolder(_input, classes: 1, perClass: 2, size: 8);
        for (int i = 0; i < 5; i++)
            using (var big = TestFiles.Gradient(64, 64, salt: i)) big.SaveAsPng(Path.Combine(_input, "class0", $"big{i}.png"));
        long perImage = 64 * 64 * FolderProtectionJob.CraftingBytesPerPixel;
        var shift = new ShiftProtector(Eps, anySize: true);

        var result = new FolderProtectionJob(shift, new FolderProtectionOptions
        {
            InputRoot = _input, OutputRoot = _output, BatchSize = 16, MemoryBudget = Math.Max(1L << 20, 2 * perImage + 1),
        }).Run();

        result.Protected.Should().Be(7);
        int perChunk = (int)(Math.Max(1L << 20, 2 * perImage + 1) / perImage);
        shift.Shapes.Select(s => (s[0], s[2])).Should().Equal(
            Enumerable.Range(0, 5).Chunk(perChunk).Select(c => ((long)c.Length, 64L)).Append((2L, 8L)),
            "the big images come first in sorted order, in chunks of the budget, then the two small ones together");
        ProtectedFolderVerifier.Verify(_input, _output).Passed.Should().BeTrue();
    }

    [Theory]
    [InlineData(64, 64, 1L << 30, 16, 16)]
    [InlineData(4000, 3000, 1L << 30, 16, 1)]
    [InlineData(1000, 1000, 4L << 30, 128, 17)]
    public void The_chunk_size_is_the_budget_over_the_bytes_of_one_image_between_one_and_the_batch(int height, int width, long budget, int batch, int expected) =>
        FolderProtectionJob.ChunkSize(height, width, 3, budget, batch).Should().Be(expected);

    [Fact]
    public void The_image_size_comes_from_the_protector_model_when_given()
    {
        BatchTestData.WriteFolder(_input, classes: 1, perClass: 2, size: 8);
        using (var other = TestFiles.Gradient(16, 16)) other.SaveAsPng(Path.Combine(_input, "class0", "big.png"));

        var result = new FolderProtectionJob(new ShiftProtector(Eps), new FolderProtectionOptions { InputRoot = _input, OutputRoot = _output, ImageSize = (16, 16) }).Run();

        result.Protected.Should().Be(1);
        result.Errors.Should().HaveCount(2).And.OnlyContain(e => e.Error!.Contains("trained on"));
    }

    [Fact]
    public void Links_out_of_the_input_are_refused_per_file_and_nothing_is_written_outside_the_output()
    {
        BatchTestData.WriteFolder(_input, classes: 2, perClass: 2);
        string outside = Path.Combine(_temp.Path, "outside");
        BatchTestData.WriteFolder(outside, classes: 1, perClass: 2);
        File.CreateSymbolicLink(Path.Combine(_input, "class0", "secret.png"), Path.Combine(outside, "class0", "img00.png"));
        Directory.CreateSymbolicLink(Path.Combine(_input, "class1", "linked"), Path.Combine(outside, "class0"));
        File.CreateSymbolicLink(Path.Combine(_input, "class1", "inside.png"), Path.Combine(_input, "class0", "img00.png"));
        var before = BatchTestData.Outputs(_temp.Path).Keys.ToArray();

        var result = Protect();

        result.Protected.Should().Be(5, "the four images and the link that stays inside the input");
        result.Errors.Select(e => e.Input).Should().BeEquivalentTo("class0/secret.png", "class1/linked/img00.png", "class1/linked/img01.png");
        result.Errors.Should().OnlyContain(e => e.Error!.Contains("outside the input folder") && e.InputSha256 == null);
        var after = BatchTestData.Outputs(_temp.Path).Keys.Where(k => !k.StartsWith("out/", StringComparison.Ordinal));
        after.Should().BeEquivalentTo(before, "nothing is written outside the output folder");
        InputFolderScan.LinkProblem(_input, "class0/../../etc/passwd").Should().Contain("'..'");
        var escape = () => SafeOutputPath.Resolve(_output, "class0/../../x.png");
        escape.Should().Throw<ArgumentException>().WithMessage("*..*");
    }

    [Theory]
    [InlineData("in", "same")]
    [InlineData("in/sub", "inside")]
    [InlineData(".", "contains")]
    public void An_output_folder_that_is_inside_or_contains_the_input_is_refused(string output, string word)
    {
        BatchTestData.WriteFolder(_input, classes: 1, perClass: 1);
        var create = () => new FolderProtectionJob(Random(), new FolderProtectionOptions { InputRoot = _input, OutputRoot = Path.Combine(_temp.Path, output) });

        create.Should().Throw<ArgumentException>().WithMessage(word == "same" ? "*is the input folder*" : $"*{word}*");
    }

    [Fact]
    public void Three_shards_into_one_folder_give_exactly_the_bytes_of_an_unsharded_run()
    {
        BatchTestData.WriteFolder(_input, classes: 3, perClass: 7);
        string whole = Path.Combine(_temp.Path, "whole");
        Protect(output: whole, batchSize: 2);

        var parts = Enumerable.Range(0, 3).Select(i => Protect(batchSize: 2, shard: new Shard(i, 3))).ToArray();

        parts.Sum(p => p.Protected).Should().Be(21);
        parts.Select(p => p.ShardFiles).Should().Equal(8, 7, 6);   // 11 batches of 2: shard 0 has batches 0,3,6,9 (the last holds 1)
        var inputsPerShard = Enumerable.Range(0, 3).Select(i => ManifestReader.Read(OutputLayout.ManifestFile(_output, new Shard(i, 3))).Select(r => r.Input).ToArray()).ToArray();
        inputsPerShard.SelectMany(x => x).Should().OnlyHaveUniqueItems().And.HaveCount(21);
        BatchTestData.Outputs(_output).Should().BeEquivalentTo(BatchTestData.Outputs(whole));
        ProtectedFolderVerifier.Verify(_input, _output).Passed.Should().BeTrue();
    }

    [Fact]
    public void A_jpeg_input_becomes_a_png_output_and_a_name_collision_is_a_per_file_error()
    {
        BatchTestData.WriteFolder(_input, classes: 1, perClass: 2);
        using (var photo = TestFiles.Gradient(8, 8, salt: 3)) photo.SaveAsJpeg(Path.Combine(_input, "class0", "photo.jpg"));
        using (var twin = TestFiles.Gradient(8, 8, salt: 4)) twin.SaveAsBmp(Path.Combine(_input, "class0", "img00.bmp"));

        var result = Protect();

        result.ConvertedToPng.Should().BeEquivalentTo("class0/photo.jpg", "class0/img00.bmp");
        File.Exists(Path.Combine(_output, "class0", "photo.png")).Should().BeTrue();
        result.Errors.Should().ContainSingle().Which.Input.Should().Be("class0/img00.png", "img00.bmp sorts first and claims img00.png");
        Image.DetectFormat(File.ReadAllBytes(Path.Combine(_output, "class0", "photo.png")))!.Name.Should().Be("PNG");

        // verify compares img00.png's output with the input it was written for, and names the collision of the other.
        var verification = ProtectedFolderVerifier.Verify(_input, _output);
        verification.Problems.Should().BeEmpty();
        verification.Notes.Should().ContainSingle().Which.Should().Contain("class0/img00.png: not expected (class0/img00.bmp and class0/img00.png would share the output class0/img00.png; it was written for class0/img00.bmp)");
    }

    [Fact]
    public void Resuming_with_other_settings_is_refused_with_the_differences_named()
    {
        BatchTestData.WriteFolder(_input, classes: 1, perClass: 2);
        Protect();

        var otherEps = () => Protect(Random(eps: 4.0 / 255.0));
        var otherBatch = () => Protect(batchSize: 8);

        otherEps.Should().Throw<InvalidOperationException>().WithMessage("*eps was 8/255, now 4/255*");
        otherBatch.Should().Throw<InvalidOperationException>().WithMessage("*batch size was 4, now 8*");
    }

    [Fact]
    public void The_protector_is_prepared_on_the_readable_files_and_sees_batches_of_consecutive_files()
    {
        BatchTestData.WriteFolder(_input, classes: 2, perClass: 3);
        File.WriteAllBytes(Path.Combine(_input, "class0", "img01b.png"), [0]);   // sorts into batch 0, unreadable
        var shift = new ShiftProtector(Eps);

        var result = Protect(shift, batchSize: 3);

        shift.PreparedCount.Should().Be(6);
        shift.Batches.Should().BeEquivalentTo(new[] { new[] { 0, 1 }, [2, 3, 4], [5] }, o => o.WithStrictOrdering());
        result.Protected.Should().Be(6);
        ProtectedFolderVerifier.Verify(_input, _output).Passed.Should().BeTrue();
    }

    [Fact]
    public void A_protector_that_breaks_the_bound_stops_the_run_and_verify_catches_a_tampered_output()
    {
        BatchTestData.WriteFolder(_input, classes: 1, perClass: 2);
        var broken = () => Protect(new ShiftProtector(Eps, overshoot: 1), output: Path.Combine(_temp.Path, "broken"));
        broken.Should().Throw<InvalidOperationException>().WithMessage("*more than the budget*");

        Protect(new ShiftProtector(Eps));
        string target = Path.Combine(_output, "class0", "img00.png");
        using (var tampered = TestFiles.Gradient(8, 8, salt: 90)) tampered.SaveAsPng(target);
        File.WriteAllBytes(Path.Combine(_output, "class0", $".img01.png.{Guid.NewGuid():N}.tmp"), [1]);

        var verification = ProtectedFolderVerifier.Verify(_input, _output);

        verification.Passed.Should().BeFalse();
        verification.Problems.Should().Contain(p => p.Contains("class0/img00.png") && p.Contains("over the bound"));
        verification.Problems.Should().Contain(p => p.Contains("class0/img00.png") && p.Contains("does not match the manifest"));
        verification.Problems.Should().Contain(p => p.Contains("temporary file"));
    }

    [Fact]
    public void Every_written_image_records_its_psnr_and_ssim_and_verify_measures_the_same_from_the_files()
    {
        BatchTestData.WriteFolder(_input);

        var result = Protect();

        var records = ManifestReader.Read(OutputLayout.ManifestFile(_output, Shard.Whole));
        foreach (var r in records)
        {
            var clean = ImageFileReader.Read(Path.Combine(_input, r.Input));
            var stored = ImageFileReader.Read(Path.Combine(_output, r.Output!));
            r.Psnr.Should().Be(ImageQuality.Psnr(clean.Pixels, stored.Pixels));
            r.Ssim.Should().Be(ImageQuality.Ssim(clean.Pixels, stored.Pixels, 3, 8, 8));
        }
        // +-8 levels of random noise on every pixel: MSE about 64, PSNR about 30 dB.
        result.Quality!.MeanPsnr.Should().BeInRange(29, 31.5);
        result.Quality.Images.Should().Be(15);
        var verified = ProtectedFolderVerifier.Verify(_input, _output).Quality!;
        verified.MeanPsnr.Should().BeApproximately(result.Quality.MeanPsnr!.Value, 1e-9);
        verified.MinSsim.Should().BeApproximately(result.Quality.MinSsim, 1e-9);
    }

    [Fact]
    public void Images_that_would_fall_below_the_minimum_psnr_are_per_file_errors_not_weakened()
    {
        BatchTestData.WriteFolder(_input);
        // Full-budget random noise is about 30 dB on every image: a floor of 40 refuses them all, 20 none.
        var refused = new FolderProtectionJob(Random(), new FolderProtectionOptions { InputRoot = _input, OutputRoot = _output, MinPsnr = 40 }).Run();

        refused.Protected.Should().Be(0);
        refused.Errors.Should().HaveCount(15).And.OnlyContain(e => e.Error!.Contains("below the minimum of 40 dB"));
        Directory.GetFiles(_output, "*.png", SearchOption.AllDirectories).Should().BeEmpty("nothing below the floor is written");

        var accepted = new FolderProtectionJob(Random(), new FolderProtectionOptions { InputRoot = _input, OutputRoot = _output, MinPsnr = 20 }).Run();
        accepted.Protected.Should().Be(15, "a later run with a lower floor writes them, with the bytes the budget gives");
        FluentActions.Invoking(() => new FolderProtectionOptions { InputRoot = _input, OutputRoot = _output, MinPsnr = 0 }.Validate())
            .Should().Throw<ArgumentOutOfRangeException>().WithParameterName("MinPsnr");
    }

    [Fact]
    public void Large_images_get_a_zoomed_picture_beside_the_full_size_one()
    {
        BatchTestData.WriteFolder(_input, classes: 1, perClass: 2, size: 160);
        var result = Protect();
        string reportFolder = Path.Combine(_temp.Path, "report");

        string text = File.ReadAllText(ProtectionReport.Write(reportFolder, _input, _output, result));

        using var full = Image.Load<SixLabors.ImageSharp.PixelFormats.Rgb24>(Directory.GetFiles(reportFolder, "examples-00-*.png").Single(f => !f.EndsWith("-zoom.png", StringComparison.Ordinal)));
        using var zoom = Image.Load<SixLabors.ImageSharp.PixelFormats.Rgb24>(Directory.GetFiles(reportFolder, "examples-00-*-zoom.png").Single());
        full.Width.Should().Be(3 * 160 + 16, "the image at its own resolution");
        zoom.Width.Should().Be(3 * ProtectionReport.ZoomSize * ProtectionReport.ZoomScale + 16);
        text.Should().Contain("-zoom.png").And.Contain("Zoomed: 64 x 64 pixels");
    }

    [Fact]
    public void The_report_shows_clean_protected_and_amplified_delta_per_class()
    {
        BatchTestData.WriteFolder(_input, classes: 2, perClass: 4);
        using (var photo = TestFiles.Gradient(8, 8, salt: 3)) photo.SaveAsJpeg(Path.Combine(_input, "class1", "photo.jpg"));
        var result = Protect();
        string reportFolder = Path.Combine(_temp.Path, "report");

        string markdown = ProtectionReport.Write(reportFolder, _input, _output, result);

        string text = File.ReadAllText(markdown);
        text.Should().Contain("random").And.Contain("x15").And.Contain("class1/photo.jpg").And.Contain("converted to PNG");
        text.Should().Contain($"visibility: {result.Quality}").And.Contain("most visible (lowest PSNR)");
        var pictures = Directory.GetFiles(reportFolder, "examples-*.png");
        pictures.Should().HaveCount(2);
        using var panel = Image.Load<SixLabors.ImageSharp.PixelFormats.Rgb24>(pictures[0]);
        int scale = ProtectionReport.Upscale(8, 8);
        panel.Width.Should().Be(3 * 8 * scale + 16);
        panel.Height.Should().Be(3 * 8 * scale + 16);
    }

    [Theory]
    [InlineData("0/1", 0, 1)]
    [InlineData("7/8", 7, 8)]
    public void Shards_parse(string text, int index, int count) => Shard.Parse(text).Should().Be(new Shard(index, count));

    [Theory]
    [InlineData("8/8")]
    [InlineData("-1/2")]
    [InlineData("1")]
    [InlineData("a/b")]
    [InlineData("0/0")]
    public void Bad_shards_are_refused(string text)
    {
        var parse = () => Shard.Parse(text);
        parse.Should().Throw<Exception>().Where(e => e is FormatException || e is ArgumentOutOfRangeException);
    }
}

/// <summary>An <see cref="IProgress{T}"/> that runs its handler at once, on the reporting thread.</summary>
public sealed class Reporter(Action<ProtectionProgress> handler) : IProgress<ProtectionProgress>
{
    public void Report(ProtectionProgress value) => handler(value);
}
