// Sample: a long-running service on the .NET generic host (Microsoft.Extensions.Hosting) that watches an inbox folder
// and protects every image dropped into it, writing the protected copy to an outbox folder. The technique comes from
// the library's catalogue (services.AddRobustness().AddProtectors()): random +-eps noise, or Self-Ensemble Protection
// from a folder of the source model's training checkpoints. The worker (InboxProtectionWorker, a BackgroundService)
// shuts down gracefully: on Ctrl+C or SIGTERM it finishes the image it is protecting, starts no other, and every
// output is written atomically (temporary file, then rename), so the outbox never holds a half-written file.
//
// Usage:
//   dotnet run -c Release --project samples/WorkerService -- INBOX OUTBOX [--checkpoints DIR] [--eps 8/255]
//       [--iterations T] [--checkpoint-count K]
//     Without --checkpoints: random +-eps noise. With --checkpoints DIR (a checkpoint set, e.g. from
//     `robustness train --checkpoints DIR` or samples/ProtectFolder's OUTPUT_DIR/.robustness/checkpoints): SEP with K
//     checkpoints and T steps (defaults 30 and 30, K capped at the checkpoints there); images must then have the
//     model's size. Drop images into INBOX/<class>/ (the class folder is the true label SEP needs) or INBOX/ (SEP then
//     takes the source model's prediction as the label); each becomes OUTBOX/<same path>.png. A file is picked up
//     once it has not changed for a second; an input whose output exists is skipped, so a restart does not redo work.
//     Runs until stopped (Ctrl+C, SIGTERM, `systemctl stop`, `docker stop`).
//   dotnet run -c Release --project samples/WorkerService -- --smoke
//     Trains a tiny source model (SmallCnn width 4, 2 epochs, 64 synthetic 16x16 images) for SEP checkpoints, starts
//     the host, drops 3 synthetic images into a temporary inbox, waits until they are protected, stops the host and
//     checks the outputs (size, budget, no temporary file left): a few seconds.
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Robustness;
using Robustness.Attacks;
using Robustness.Data;
using Robustness.Hosting;
using Robustness.Models;
using Robustness.Protection;
using Robustness.Protection.Batch;
using Robustness.Training;
using Robustness.Samples.WorkerService;

var ci = CultureInfo.InvariantCulture;
bool smoke = args.Contains("--smoke");
WorkerOptions options;
string? smokeFolder = null;
if (smoke)
{
    smokeFolder = Directory.CreateTempSubdirectory("robustness-worker-").FullName;
    string checkpoints = TrainTinySourceModel(Path.Combine(smokeFolder, "checkpoints"));
    options = new WorkerOptions(Path.Combine(smokeFolder, "inbox"), Path.Combine(smokeFolder, "outbox"))
    {
        Checkpoints = checkpoints, Iterations = 5, CheckpointCount = 2,
        PollInterval = TimeSpan.FromMilliseconds(200), SettleTime = TimeSpan.FromMilliseconds(200),
    };
}
else
{
    var positional = new List<string>();
    string? checkpoints = null;
    double epsilon = 8.0 / 255;
    int? iterations = null, count = null;
    for (int i = 0; i < args.Length; i++)
    {
        string? value = i + 1 < args.Length ? args[i + 1] : null;
        switch (args[i])
        {
            case "--checkpoints" when value is not null: checkpoints = value; i++; break;
            case "--eps" when value is not null && TryBudget(value, out double eps): epsilon = eps; i++; break;
            case "--iterations" when int.TryParse(value, ci, out int t) && t >= 1: iterations = t; i++; break;
            case "--checkpoint-count" when int.TryParse(value, ci, out int k) && k >= 1: count = k; i++; break;
            default:
                if (args[i].StartsWith("--", StringComparison.Ordinal)) return Usage($"unknown option or bad value: {args[i]}");
                positional.Add(args[i]);
                break;
        }
    }
    if (positional.Count != 2) return Usage("give INBOX and OUTBOX, or --smoke");
    if (checkpoints is not null && !Directory.Exists(checkpoints)) return Usage($"checkpoint folder '{checkpoints}' does not exist");
    options = new WorkerOptions(positional[0], positional[1]) { Checkpoints = checkpoints, Epsilon = epsilon, Iterations = iterations, CheckpointCount = count };
}
Directory.CreateDirectory(options.Inbox);
try
{
    OutputLayout.CheckApart(options.Inbox, options.Outbox); // the outbox may not lie inside the inbox, nor contain it
}
catch (ArgumentException e)
{
    return Usage(e.Message);
}

// The host: our own arguments are parsed above, so none go to the host's configuration.
var builder = Host.CreateApplicationBuilder();
builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
builder.Services.AddRobustness().AddProtectors(); // the technique catalogue with the built-in protectors
builder.Services.AddSingleton(options);
builder.Services.AddHostedService<InboxProtectionWorker>();
// On shutdown the host waits this long for the worker to finish its current image (SEP on one image: seconds).
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromMinutes(2));
using var host = builder.Build();

if (!smoke)
{
    await host.RunAsync(); // until Ctrl+C or SIGTERM
    return 0;
}

try
{
    // --smoke: start the service, drop 3 images into the inbox as a user would, wait for their protected copies, stop.
    await host.StartAsync();
    var images = SyntheticImageSet.Generate(count: 3, seed: 1, size: 16, classes: 4);
    var dropped = PngImageWriter.Write(images, options.Inbox); // <class>/<n>.png, each written atomically
    Console.WriteLine($"Smoke: dropped {string.Join(", ", dropped)} into {options.Inbox}");
    var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
    while (!dropped.All(p => File.Exists(Path.Combine(options.Outbox, p))))
    {
        if (DateTime.UtcNow > deadline) throw new TimeoutException("The worker did not protect the 3 images within 60 s.");
        await Task.Delay(100);
    }
    await host.StopAsync();

    // Every output decodes, has its input's size and stays within the budget; no temporary file is left.
    int levels = ProtectionQuantizer.Levels(options.Epsilon);
    foreach (string relative in dropped)
    {
        var clean = ImageFileReader.Read(Path.Combine(options.Inbox, relative));
        var protectedImage = ImageFileReader.Read(Path.Combine(options.Outbox, relative));
        if (clean.Height != protectedImage.Height || clean.Width != protectedImage.Width) throw new InvalidDataException($"{relative}: size changed.");
        int maxDelta = clean.Pixels.Zip(protectedImage.Pixels, (a, b) => Math.Abs(a - b)).Max();
        if (maxDelta > levels) throw new InvalidDataException($"{relative}: changed by {maxDelta} levels, more than {levels}.");
        Console.WriteLine($"Smoke: {relative} protected, largest change {maxDelta}/255");
    }
    var leftovers = Directory.GetFiles(options.Outbox, "*.tmp", SearchOption.AllDirectories);
    if (leftovers.Length > 0) throw new InvalidDataException($"Temporary files left: {string.Join(", ", leftovers)}");
    Console.WriteLine("Smoke: OK");
    return 0;
}
finally
{
    Directory.Delete(smokeFolder!, recursive: true);
}

// --smoke: a checkpoint set to build SEP from, as `robustness train --checkpoints DIR` would leave it.
static string TrainTinySourceModel(string folder)
{
    var train = SyntheticImageSet.Generate(count: 64, seed: 0, size: 16, classes: 4);
    // Tiny tensors: one libtorch thread is fastest and keeps the run short on a busy machine (after the library's
    // first call, so its kernel guard has set oneDNN up).
    TorchSharp.torch.set_num_threads(1);
    var spec = new ModelSpec("small-cnn", train.ClassNames.Count, Width: 4, ImageSize: 16);
    using var model = Classifier.Create(spec, ChannelStatistics.Of(train), train.ClassNames, seed: 0);
    using var checkpoints = CheckpointSet.Create(folder);
    new Trainer(TrainingOptions.ForSep(epochs: 2) with { BatchSize = 32, Seed = 0 }).Train(model, train, null, checkpoints);
    Console.WriteLine($"Smoke: trained a SmallCnn w4 for 2 epochs; checkpoints in {folder}");
    return folder;
}

static bool TryBudget(string text, out double epsilon)
{
    try
    {
        epsilon = Budget.Parse(text);
        return true;
    }
    catch (Exception e) when (e is FormatException or ArgumentException)
    {
        epsilon = 0;
        return false;
    }
}

static int Usage(string problem)
{
    Console.Error.WriteLine($"error: {problem}");
    Console.Error.WriteLine("usage: WorkerService INBOX OUTBOX [--checkpoints DIR] [--eps 8/255] [--iterations T] [--checkpoint-count K] | --smoke");
    return 2;
}
