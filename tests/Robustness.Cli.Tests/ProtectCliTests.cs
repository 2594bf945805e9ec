using System.Diagnostics;
using FluentAssertions;
using Robustness.Cli.Commands;
using Robustness.Data;
using Robustness.Hosting;
using Robustness.Protection;
using Robustness.Protection.Batch;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Xunit;
using static Robustness.Testing.CliRun;

namespace Robustness.Cli.Tests;

public sealed class ProtectCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("robustness-protect-").FullName;
    private readonly string _input;
    private readonly string _output;

    public ProtectCliTests()
    {
        _input = Path.Combine(_dir, "in");
        _output = Path.Combine(_dir, "out");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);


    /// <summary>Writes classes x perClass distinct gradient PNGs.</summary>
    private static void WriteImages(string root, int classes, int perClass, int size = 8)
    {
        for (int c = 0; c < classes; c++)
        for (int i = 0; i < perClass; i++)
        {
            string path = Path.Combine(root, $"c{c}", $"{i:D4}.png");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using var image = new Image<Rgb24>(size, size);
            for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
                image[x, y] = new Rgb24((byte)(x * 13 + c * 40 + i), (byte)(y * 17 + i * 3), (byte)((x + y) * 9 + c * 70));
            image.SaveAsPng(path);
        }
    }

    private string[] Protect(params string[] extra) => ["protect", "--input", _input, "--output", _output, "--method", "random", "--batch-size", "4", .. extra];

    [Fact]
    public async Task A_knob_the_method_does_not_read_is_warned_about_not_silently_dropped()
    {
        WriteImages(_input, 2, 2);

        var run = await Run(Protect("--iterations", "5", "--steps", "3"));

        run.Code.Should().Be(0, run.Err);
        run.Err.Should().Contain("random does not read --iterations").And.Contain("random does not read --steps");
    }

    [Fact]
    public async Task Protect_then_verify_then_resume_skips_everything()
    {
        WriteImages(_input, 3, 5);
        using (var photo = new Image<Rgb24>(8, 8, new Rgb24(90, 120, 200))) photo.SaveAsJpeg(Path.Combine(_input, "c1", "photo.jpg"));

        var first = await Run(Protect("--report", Path.Combine(_dir, "report")));
        first.Code.Should().Be(0, first.Err);
        first.Out.Should().Contain("16 protected, 0 skipped as already done, 0 failed, 1 converted to .png");
        first.Out.Should().MatchRegex(@"protect 16/16 \(100%\) [\d.]+ img/s elapsed \S+ ETA 00:00:00", "plain progress lines when the output is not a terminal");
        File.Exists(Path.Combine(_output, "c1", "photo.png")).Should().BeTrue();
        File.ReadAllText(Path.Combine(_dir, "report", "report.md")).Should().Contain("c1/photo.jpg");
        ReportAssertions.ShouldBeSelfContained(File.ReadAllText(Path.Combine(_dir, "report", "report.html")), images: 1);
        Directory.GetFiles(Path.Combine(_dir, "report"), "examples-*.png").Should().HaveCount(3);

        var verify = await Run("verify", "--input", _input, "--output", _output);
        verify.Code.Should().Be(0, verify.Out);
        verify.Out.Should().Contain("OK: 16 output(s) checked");
        first.Out.Should().Contain("Visibility of what this run wrote: PSNR mean");
        verify.Out.Should().Contain("Visibility: PSNR mean").And.Contain("over 16 image(s)");

        var again = await Run(Protect());
        again.Code.Should().Be(0, again.Err);
        again.Out.Should().Contain("0 protected, 16 skipped as already done");
    }

    [Fact]
    public async Task Per_file_errors_give_exit_code_1_and_are_listed_while_the_rest_is_protected()
    {
        WriteImages(_input, 2, 3);
        File.WriteAllBytes(Path.Combine(_input, "c0", "broken.png"), [0x89, 0x50, 0x4E, 0x47, 1, 2, 3]);
        File.WriteAllBytes(Path.Combine(_input, "c1", "empty.jpg"), []);

        var (code, output, err) = await Run(Protect());

        code.Should().Be(ExitCodes.Failure, err);
        output.Should().Contain("6 protected").And.Contain("2 failed");
        output.Should().Contain("failed: c0/broken.png").And.Contain("failed: c1/empty.jpg");
        var verify = await Run("verify", "--input", _input, "--output", _output);
        verify.Code.Should().Be(0, "the unreadable inputs are not expected to have outputs: {0}", verify.Out);
    }

    [Fact]
    public async Task Protect_with_verify_checks_the_folder_in_the_same_command()
    {
        WriteImages(_input, 2, 3);
        using (var photo = new Image<Rgb24>(12, 7, new Rgb24(90, 120, 200))) photo.SaveAsJpeg(Path.Combine(_input, "c1", "wide.jpg"));
        File.WriteAllBytes(Path.Combine(_input, "c0", "broken.png"), [0x89, 0x50, 0x4E, 0x47, 1, 2, 3]);

        var run = await Run(Protect("--verify"));

        run.Code.Should().Be(ExitCodes.Failure, "one input could not be read: {0}", run.Out);
        run.Out.Should().Contain("7 protected").And.Contain("1 failed").And.Contain("Verifying the output folder:");
        run.Out.Should().Contain("OK: 7 output(s) checked").And.Contain("1 input(s) not expected to have an output");

        // A good folder: exit code 0. An output tampered with between runs does not match its manifest: the resumed run
        // protects that image again, and the verification after it passes.
        File.Delete(Path.Combine(_input, "c0", "broken.png"));
        (await Run(Protect("--verify"))).Code.Should().Be(0);
        using (var tampered = Image.Load<Rgb24>(Path.Combine(_output, "c0", "0001.png")))
        {
            tampered[0, 0] = new Rgb24((byte)(tampered[0, 0].R ^ 0x80), 0, 0);
            tampered.SaveAsPng(Path.Combine(_output, "c0", "0001.png"));
        }
        (await Run("verify", "--input", _input, "--output", _output)).Code.Should().Be(ExitCodes.Failure, "the tampered output is out of bound or off its manifest");
        var again = await Run(Protect("--verify"));
        again.Code.Should().Be(0, again.Out);
        again.Out.Should().Contain("1 protected, 6 skipped as already done").And.Contain("OK: 7 output(s) checked");
    }

    [Fact]
    public async Task Verify_fails_on_a_missing_or_out_of_bound_output()
    {
        WriteImages(_input, 1, 3);
        (await Run(Protect())).Code.Should().Be(0);
        File.Delete(Path.Combine(_output, "c0", "0001.png"));

        var verify = await Run("verify", "--input", _input, "--output", _output, "--eps", "1/255");

        verify.Code.Should().Be(ExitCodes.Failure);
        verify.Out.Should().Contain("problem: c0/0001.png: no output").And.Contain("over the bound of 1");
    }

    [Fact]
    public async Task Resuming_with_other_settings_is_a_usage_error_naming_the_difference()
    {
        WriteImages(_input, 1, 2);
        (await Run(Protect())).Code.Should().Be(0);

        var (code, _, err) = await Run(Protect("--eps", "4/255"));

        code.Should().Be(ExitCodes.BadArguments);
        err.Should().Contain("eps was 8/255, now 4/255");
    }

    // Issue 13, point 8: run.json did not record the model a run trains itself, so a resumed error-minimising run with
    // another --arch/--width mixed two surrogates in one folder, and --train-epochs silently reused the old source model.
    [Fact]
    public async Task Resuming_with_another_surrogate_model_is_a_usage_error()
    {
        WriteImages(_input, 1, 2);
        (await Run(Protect("--arch", "small-cnn", "--width", "4"))).Code.Should().Be(0);
        ProtectionRunSettings.TryReadFrom(_output)!.TrainedModel.Should().Be("small-cnn w4");

        var (code, _, err) = await Run(Protect("--arch", "small-cnn", "--width", "8"));

        code.Should().Be(ExitCodes.BadArguments);
        err.Should().Contain("trained model was small-cnn w4, now small-cnn w8");
    }

    [Fact]
    public async Task Resuming_train_epochs_with_another_source_model_is_a_usage_error_before_any_training()
    {
        WriteImages(_input, 2, 4, size: 16);
        var catalogue = TestCatalogue();
        string[] args = ["protect", "--input", _input, "--output", _output, "--method", "needs-checkpoints", "--train-epochs", "1", "--batch-size", "8"];
        (await RunWith(catalogue, [.. args, "--width", "4"])).Code.Should().Be(0);

        var again = await RunWith(catalogue, [.. args, "--width", "8"]);

        again.Code.Should().Be(ExitCodes.BadArguments);
        again.Err.Should().Contain("trained model was small-cnn w4, now small-cnn w8");
        again.Out.Should().NotContain("Training the source model");
    }

    [Fact]
    public async Task Three_shards_into_one_folder_complete_the_output()
    {
        WriteImages(_input, 3, 4);
        for (int i = 0; i < 3; i++)
            (await Run(Protect("--shard", $"{i}/3"))).Code.Should().Be(0);

        (await Run("verify", "--input", _input, "--output", _output)).Code.Should().Be(0);
        OutputLayout.ManifestFiles(_output).Should().HaveCount(3);
    }

    public static TheoryData<string[], string> BadArguments => new()
    {
        { ["protect", "--output", "o"], "--input" },
        { ["protect", "--input", "IN", "--output", "OUT", "--method", "random", "--shard", "3/3"], "--shard" },
        { ["protect", "--input", "IN", "--output", "OUT", "--method", "random", "--shard", "x"], "--shard" },
        { ["protect", "--input", "IN", "--output", "OUT", "--method", "random", "--eps", "abc"], "--eps" },
        { ["protect", "--input", "IN", "--output", "OUT", "--method", "nope"], "--method" },
        { ["protect", "--input", "IN", "--output", "OUT", "--method", "random", "--batch-size", "0"], "--batch-size" },
        { ["protect", "--input", "IN", "--output", "OUT", "--method", "random", "--checkpoints", "IN"], "--checkpoints" },
        { ["protect", "--input", "IN", "--output", "IN/sub", "--method", "random"], "--output" },
        { ["protect", "--input", "IN", "--output", "IN", "--method", "random"], "--output" },
        { ["protect", "--input", "IN", "--output", "OUT", "--method", "needs-checkpoints"], "--checkpoints" },
        { ["protect", "--input", "IN", "--output", "OUT", "--method", "needs-checkpoints", "--train-epochs", "2", "--shard", "0/2"], "--train-epochs" },
        { ["protect", "--input", "IN", "--output", "OUT", "--method", "random", "--iterations", "0"], "--iterations" },
        { ["protect", "--input", "IN", "--output", "OUT", "--method", "random", "--eps", "1.5"], "--eps must be in [0, 1]" },
        { ["protect", "--input", "IN", "--output", "OUT", "--method", "random", "--min-psnr", "-3"], "--min-psnr" },
        { ["protect", "--input", "IN", "--output", "OUT", "--method", "random", "--eps", "0"], "--eps must be above 0" },
        { ["protect", "--input", "IN", "--output", "OUT", "--method", "random", "--work-size", "16"], "--work-size" },
        { ["protect", "--input", "IN", "--output", "OUT", "--method", "sep", "--train-epochs", "1", "--work-size", "4"], "--work-size must be between 8 and 1024" },
        { ["protect", "--input", "IN", "--output", "OUT", "--method", "random", "--memory-budget", "10"], "--memory-budget" },
        { ["protect", "--input", "IN", "--output", "OUT", "--method", "random", "--shard", "0/2", "--verify"], "--verify" },
        { ["train", "--data", "IN", "--out", "OUT/m.safetensors", "--image-size", "2"], "--image-size must be between 8 and 1024" },
        { ["evaluate-protection", "--clean", "IN", "--protected", "OUT", "--test", "IN", "--report", "OUT/r"], "--protected takes NAME=DIR" },
        { ["evaluate-protection", "--clean", "IN", "--protected", "clean=IN", "--test", "IN", "--report", "OUT/r"], "--protected: 'clean'" },
        { ["evaluate-protection", "--clean", "IN", "--protected", "a=IN", "--test", "IN", "--pipelines", "none,sharpen", "--report", "OUT/r"], "--pipelines" },
        { ["verify", "--input", "IN"], "--output" },
        { ["verify", "--input", "IN", "--output", "NOWHERE"], "--output" },
    };

    [Theory]
    [MemberData(nameof(BadArguments))]
    public async Task Bad_arguments_give_one_line_naming_the_option_and_exit_code_2(string[] args, string mentioned)
    {
        WriteImages(_input, 1, 1);
        var resolved = args.Select(a => a.Replace("IN", _input).Replace("OUT", _output).Replace("NOWHERE", Path.Combine(_dir, "nowhere"))).ToArray();

        var (code, _, err) = await RunWith(TestCatalogue(), resolved);

        code.Should().Be(ExitCodes.BadArguments, err);
        err.TrimEnd().Split('\n').Should().ContainSingle().Which.Should().Contain(mentioned);
        err.Should().NotContain("(Parameter '").And.NotContain("Actual value was", ".NET's exception tails are not shown");
        Directory.Exists(Path.Combine(_input, "sub")).Should().BeFalse("nothing is written into the input");
    }

    [Fact]
    public async Task Train_epochs_trains_the_checkpoints_once_and_a_resumed_run_reuses_them()
    {
        WriteImages(_input, 2, 10, size: 16);
        var catalogue = TestCatalogue();
        string[] args = ["protect", "--input", _input, "--output", _output, "--method", "needs-checkpoints", "--train-epochs", "2", "--width", "4", "--batch-size", "8"];

        var first = await RunWith(catalogue, args);
        first.Code.Should().Be(0, first.Err + first.Out);
        first.Out.Should().Contain("Training the source model").And.Contain("20 protected");
        Directory.GetFiles(OutputLayout.CheckpointFolder(_output), "epoch-*.safetensors").Should().HaveCount(2);
        ProtectionRunSettings.TryReadFrom(_output)!.CheckpointEpochs.Should().Equal(0, 1);
        ProtectionRunSettings.TryReadFrom(_output)!.WorkSize.Should().Be(16, "the images all share one square size, so the model takes it");

        var again = await RunWith(catalogue, args);
        again.Code.Should().Be(0, again.Err);
        again.Out.Should().Contain("Reusing the 2 checkpoints").And.Contain("20 skipped as already done");
        ImageFolderIndex.Scan(_output).Files.Should().HaveCount(20, "the checkpoints live in the hidden .robustness folder");
    }

    [Fact]
    public async Task Sep_protects_a_folder_of_mixed_sizes_at_their_own_size_through_a_source_model_of_the_default_work_size()
    {
        WriteImages(_input, 2, 5, size: 16);
        using (var wide = new Image<Rgb24>(40, 24, new Rgb24(200, 80, 30))) wide.SaveAsJpeg(Path.Combine(_input, "c0", "wide.jpg"));
        using (var tall = new Image<Rgb24>(20, 50, new Rgb24(20, 160, 90))) tall.SaveAsPng(Path.Combine(_input, "c1", "tall.png"));
        string[] args = ["protect", "--input", _input, "--output", _output, "--method", "sep", "--train-epochs", "1", "--width", "4",
            "--checkpoint-count", "1", "--iterations", "2", "--batch-size", "8", "--eot", "--report", Path.Combine(_dir, "report")];

        var run = await Run(args);

        run.Code.Should().Be(0, run.Err + run.Out);
        run.Out.Should().Contain("on 12 images").And.Contain("12 protected").And.Contain("3 image size(s), each kept").And.Contain("model view 32x32");
        var settings = ProtectionRunSettings.TryReadFrom(_output)!;
        settings.WorkSize.Should().Be(WorkingSize.Default, "the images differ in size");
        settings.ExpectationOverTransforms.Should().BeTrue();
        var wideOut = ImageFileReader.Read(Path.Combine(_output, "c0", "wide.png"));
        (wideOut.Height, wideOut.Width).Should().Be((24, 40));
        var tallOut = ImageFileReader.Read(Path.Combine(_output, "c1", "tall.png"));
        (tallOut.Height, tallOut.Width).Should().Be((50, 20));
        File.ReadAllText(Path.Combine(_dir, "report", "report.md")).Should().Contain("each kept at its own size").And.Contain("| source model input | 32x32 |");
        var verify = await Run("verify", "--input", _input, "--output", _output);
        verify.Code.Should().Be(0, verify.Out);

        var other = await Run([.. args.Where(a => a != "--eot")]);
        other.Code.Should().Be(ExitCodes.BadArguments, "resuming without --eot would mix two kinds of perturbation");
        other.Err.Should().Contain("expectation over transforms was True, now False");
    }

    [Fact]
    public async Task Evaluate_protection_trains_a_victim_per_pipeline_and_set_writes_the_table_and_resumes()
    {
        WriteImages(_input, 2, 6, size: 8);
        string test = Path.Combine(_dir, "test");
        WriteImages(test, 2, 2, size: 8);
        (await Run(Protect())).Code.Should().Be(0);
        string report = Path.Combine(_dir, "stress");
        string[] args = ["evaluate-protection", "--clean", _input, "--protected", $"random={_output}", "--test", test, "--arch", "small-cnn", "--width", "2",
            "--epochs", "1", "--batch-size", "4", "--pipelines", "none,jpeg75", "--report", report];

        var run = await Run(args);

        run.Code.Should().Be(0, run.Err + run.Out);
        run.Out.Should().Contain("2 pipeline(s) x 2 training set(s) (clean, random) = 4 victims (0 already measured)");
        run.Out.Should().Contain("| trainer pipeline | clean | random |").And.Contain("JPEG re-encoding at quality 75");
        File.ReadAllLines(Path.Combine(report, "victims.jsonl")).Should().HaveCount(4);
        File.ReadAllText(Path.Combine(report, "report.md")).Should().Contain("# Protection stress test").And.Contain("accuracy.png");
        ReportAssertions.ShouldBeSelfContained(File.ReadAllText(Path.Combine(report, "report.html")), images: 1);

        var again = await Run(args);
        again.Code.Should().Be(0, again.Err);
        again.Out.Should().Contain("(4 already measured)").And.NotContain("victim 1/4");
        File.ReadAllLines(Path.Combine(report, "victims.jsonl")).Should().HaveCount(4, "nothing was trained again");
    }

    [Fact]
    public void Source_training_stopped_part_way_resumes_after_its_last_checkpoint_and_ends_as_an_uninterrupted_run()
    {
        WriteImages(_input, 2, 8, size: 16);
        string whole = Path.Combine(_dir, "whole"), parted = Path.Combine(_dir, "parted");
        using (var set = SourceTraining.TrainOrReuse(_input, whole, 4, "small-cnn", 4, 16, 0, TorchSharp.torch.CPU, TextWriter.Null, TextWriter.Null, default)) { }

        // Stopped part way (as a kill would stop it): the epochs before the stop are kept with their training state.
        using var cancel = new CancellationTokenSource();
        var watcher = new LineWatcher(line => { if (line.Contains("epoch 3/4", StringComparison.Ordinal)) cancel.Cancel(); });
        var act = () => SourceTraining.TrainOrReuse(_input, parted, 4, "small-cnn", 4, 16, 0, TorchSharp.torch.CPU, watcher, TextWriter.Null, cancel.Token);
        act.Should().Throw<OperationCanceledException>();

        var log = new StringWriter();
        using var resumed = SourceTraining.TrainOrReuse(_input, parted, 4, "small-cnn", 4, 16, 0, TorchSharp.torch.CPU, log, TextWriter.Null, default);

        log.ToString().Should().MatchRegex("Resuming the source model's training after epoch [123] of 4");
        using var reference = CheckpointSetOf(whole);
        resumed.Epochs.Should().Equal(0, 1, 2, 3);
        using var a = reference.Load(3);
        using var b = resumed.Load(3);
        Flat(b).Should().Equal(Flat(a), "the last checkpoint equals the uninterrupted run's");
    }

    private static Robustness.Training.CheckpointSet CheckpointSetOf(string outputRoot) => Robustness.Training.CheckpointSet.Open(OutputLayout.CheckpointFolder(outputRoot));

    private static float[] Flat(Classifier model) =>
        model.Network.state_dict().Values.SelectMany(t => t.to(TorchSharp.torch.ScalarType.Float32).flatten().data<float>().ToArray()).ToArray();

    private sealed class LineWatcher(Action<string> onLine) : TextWriter
    {
        private readonly System.Text.StringBuilder _line = new();

        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;

        public override void Write(char value)
        {
            if (value == '\n') { onLine(_line.ToString()); _line.Clear(); }
            else _line.Append(value);
        }
    }

    [Fact]
    public async Task Train_with_image_size_trains_on_a_folder_of_mixed_sizes()
    {
        WriteImages(_input, 2, 4, size: 16);
        using (var wide = new Image<Rgb24>(40, 24, new Rgb24(200, 80, 30))) wide.SaveAsPng(Path.Combine(_input, "c0", "wide.png"));
        string model = Path.Combine(_dir, "m.safetensors");

        var mixed = await Run("train", "--data", _input, "--width", "2", "--epochs", "1", "--out", model);
        mixed.Err.Should().Contain("skipped c0/wide.png", "without --image-size every image must have the first one's size");

        var run = await Run("train", "--data", _input, "--image-size", "16", "--width", "2", "--epochs", "1", "--out", model);
        run.Code.Should().Be(0, run.Err);
        run.Err.Should().NotContain("skipped");
        File.Exists(model).Should().BeTrue();
    }

    [Fact]
    public async Task Train_epochs_trains_only_on_the_files_the_run_protects_never_on_a_link_out_of_the_input()
    {
        WriteImages(_input, 2, 10, size: 16);
        string outside = Path.Combine(_dir, "outside");
        WriteImages(outside, 1, 1, size: 16);
        File.CreateSymbolicLink(Path.Combine(_input, "c0", "zz-link.png"), Path.Combine(outside, "c0", "0000.png"));
        string[] args = ["protect", "--input", _input, "--output", _output, "--method", "needs-checkpoints", "--train-epochs", "1", "--width", "4", "--batch-size", "8"];

        var run = await RunWith(TestCatalogue(), args);

        run.Code.Should().Be(1, "the link is a per-file error of the run");
        run.Out.Should().Contain("on 20 images", "the source model trains on the 20 files inside the input, not on the link's target");
        run.Err.Should().Contain("not training on c0/zz-link.png");
        run.Out.Should().Contain("20 protected");
    }

    [Fact]
    public async Task A_run_killed_with_kill_9_and_resumed_leaves_a_complete_correct_output()
    {
        WriteImages(_input, 4, 150);   // 600 files: the child is killed after its first records
        string cli = Path.Combine(AppContext.BaseDirectory, "Robustness.Cli.dll");
        File.Exists(cli).Should().BeTrue(cli);
        string manifest = OutputLayout.ManifestFile(_output, Shard.Whole);

        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])[cli, .. Protect()]) start.ArgumentList.Add(a);
        using (var child = Process.Start(start)!)
        {
            child.OutputDataReceived += (_, _) => { };
            child.ErrorDataReceived += (_, _) => { };
            child.BeginOutputReadLine();
            child.BeginErrorReadLine();
            var watch = Stopwatch.StartNew();
            while (!child.HasExited && watch.Elapsed < TimeSpan.FromSeconds(90) && CountLines(manifest) < 8) Thread.Sleep(5);
            child.HasExited.Should().BeFalse("the child must still be running when it is killed");
            child.Kill(entireProcessTree: true);   // SIGKILL
            child.WaitForExit();
        }
        int killedAt = CountLines(manifest);
        killedAt.Should().BeInRange(8, 599);

        var resumed = await Run(Protect());

        resumed.Code.Should().Be(0, resumed.Err);
        resumed.Out.Should().MatchRegex(@"\d+ protected, \d+ skipped as already done, 0 failed");
        Directory.EnumerateFiles(_output, "*.tmp", SearchOption.AllDirectories).Should().BeEmpty();
        ImageFolderIndex.Scan(_output).Files.Should().HaveCount(600);
        var verify = await Run("verify", "--input", _input, "--output", _output);
        verify.Code.Should().Be(0, verify.Out);
        ManifestReader.Read(manifest).Where(r => r.IsOk).Select(r => r.Input).Distinct().Should().HaveCount(600);
    }

    private static int CountLines(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            int count = 0, b;
            while ((b = stream.ReadByte()) >= 0) if (b == '\n') count++;
            return count;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>The built-in catalogue plus a method that needs checkpoints (random noise under another name).</summary>
    // The built-in protectors plus a test method registered as a module would register it.
    private static Action<RobustnessBuilder> TestCatalogue() => builder => builder.AddTechnique(TechniqueFamily.Protectors, "needs-checkpoints",
        "test: random noise that insists on checkpoints", _ => new ProtectorDefinition("needs-checkpoints", "test: random noise that insists on checkpoints",
            NeedsCheckpoints: true, s => new Renamed("needs-checkpoints", new RandomNoiseProtector(new RandomNoiseOptions { Epsilon = s.Epsilon, Seed = s.Seed }))));

    private sealed class Renamed(string name, IDataProtector inner) : IDataProtector
    {
        public string Name => name;

        public double Epsilon => inner.Epsilon;

        public IProtectionSession Prepare(IImageCollection clean, IProgress<ProtectionProgress>? progress = null, CancellationToken cancellationToken = default) =>
            inner.Prepare(clean, progress, cancellationToken);
    }
}
