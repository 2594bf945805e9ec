// Sample: bring a PyTorch model in. StateDictFile.Read loads a state dict written by torch.save (.pth/.pt, read
// without Python and without running pickled code) or by safetensors; training checkpoints ({"state_dict": ...}) and
// DataParallel's "module." prefix are unwrapped. Classifier.FromStateDict puts it into the zoo network it was trained
// as, with the input normalisation the PyTorch data pipeline applied (a wrong one still "works", with poor accuracy:
// the accuracy on a labelled folder is where it shows). Then the model is evaluated on that folder, attacked with PGD,
// saved with Classifier.Save (safetensors + metadata, which every other sample and `robustness` command reads) and
// reloaded to check that the logits survive the round trip.
//
// Usage:
//   dotnet run -c Release --project samples/ImportPyTorch -- WEIGHTS DATA_DIR [--arch A] [--width W] [--image-size S]
//       [--normalization cifar10|imagenet|none] [--key KEY] [--out MODEL.safetensors]
//     WEIGHTS: a .pth/.pt or .safetensors state dict; DATA_DIR: labelled class folders (DATA_DIR/<class>/<image>) whose
//     sorted folder names are the model's classes in its output order (e.g. CIFAR-10's test set: torchvision's class
//     order is alphabetical). Defaults: --arch resnet18 --width 16
//     --image-size 32 --normalization cifar10 --out imported.safetensors. The architecture and width must match the
//     weights exactly; a mismatch lists every missing, unexpected and mis-shaped tensor. Evaluating a ResNet-18 on
//     CIFAR-10's 10,000 test images and PGD-10 on 256 of them: a minute or two on a CPU.
//   dotnet run -c Release --project samples/ImportPyTorch -- --smoke
//     Imports the test fixture tests/Robustness.Tests/Models/Fixtures/resnet18_w16.pth (a ResNet-18 of width 16 for 10
//     classes with CIFAR-10 normalisation, written by PyTorch 1.13; untrained, so its accuracy is chance level) and
//     runs the rest on 20 synthetic 32x32 images: a few seconds.
using System.Globalization;
using Robustness;
using Robustness.Attacks;
using Robustness.Data;
using Robustness.Models;
using Robustness.Training;
using static TorchSharp.torch;

var ci = CultureInfo.InvariantCulture;
bool smoke = args.Contains("--smoke");
string weightsPath, dataRoot, outPath = "imported.safetensors", architecture = "resnet18", normalizationName = "cifar10";
int width = 16, imageSize = 32, attackImages = 256;
string? key = null, smokeFolder = null;
if (smoke)
{
    string root = RepositoryRoot() ?? throw new InvalidOperationException("--smoke needs the repository (the folder holding Robustness.sln) above the program.");
    weightsPath = Path.Combine(root, "tests", "Robustness.Tests", "Models", "Fixtures", "resnet18_w16.pth");
    smokeFolder = Directory.CreateTempSubdirectory("robustness-import-").FullName;
    dataRoot = Path.Combine(smokeFolder, "test");
    PngImageWriter.Write(SyntheticImageSet.Generate(count: 20, seed: 0, size: 32, classes: 10), dataRoot);
    outPath = Path.Combine(smokeFolder, "imported.safetensors");
    attackImages = 8;
    // Tiny tensors: one libtorch thread is fastest and keeps the run short on a busy machine (after the library's
    // first call, so its kernel guard has set oneDNN up).
    set_num_threads(1);
}
else
{
    var positional = new List<string>();
    for (int i = 0; i < args.Length; i++)
    {
        string? value = i + 1 < args.Length ? args[i + 1] : null;
        switch (args[i])
        {
            case "--arch" when value is not null: architecture = value; i++; break;
            case "--width" when int.TryParse(value, ci, out int w) && w >= 1: width = w; i++; break;
            case "--image-size" when int.TryParse(value, ci, out int s) && s >= 8: imageSize = s; i++; break;
            case "--normalization" when value is "cifar10" or "imagenet" or "none": normalizationName = value; i++; break;
            case "--key" when value is not null: key = value; i++; break;
            case "--out" when value is not null: outPath = value; i++; break;
            default:
                if (args[i].StartsWith("--", StringComparison.Ordinal)) return Usage($"unknown option or bad value: {args[i]}");
                positional.Add(args[i]);
                break;
        }
    }
    if (positional.Count != 2) return Usage("give WEIGHTS and DATA_DIR, or --smoke");
    (weightsPath, dataRoot) = (positional[0], positional[1]);
    if (!File.Exists(weightsPath)) return Usage($"weights file '{weightsPath}' does not exist");
    if (!Directory.Exists(dataRoot)) return Usage($"data folder '{dataRoot}' does not exist");
}

try
{
    // The labelled folder decides the classes (sorted folder names) and must have the model's image size.
    var read = ImageFolderReader.Read(dataRoot, new ImageFolderOptions { Size = SizePolicy.Require(imageSize, imageSize) });
    foreach (var error in read.Errors) Console.Error.WriteLine($"skipped {error.RelativePath}: {error.Message}");
    var data = read.Images;
    if (data.Count == 0) return Usage($"'{dataRoot}' holds no readable {imageSize}x{imageSize} image in class folders");

    // Step 1: read the state dict and build the classifier (the architecture must fit the weights exactly).
    var normalization = normalizationName switch
    {
        "cifar10" => Normalization.Cifar10,
        "imagenet" => Normalization.ImageNet,
        _ => Normalization.Identity(),
    };
    var spec = new ModelSpec(architecture, data.ClassNames.Count, width, ImageSize: imageSize);
    Console.WriteLine($"Reading {weightsPath} ({StateDictFile.Format(weightsPath)})");
    using var model = Import(weightsPath, key, spec, normalization, data.ClassNames, out int tensors);
    Console.WriteLine(string.Create(ci, $"Imported {architecture} w{width}: {tensors} tensors, {model.ParameterCount:N0} parameters, {model.Classes} classes"));

    // Step 2: clean accuracy on the folder (report.Classes has it per class; report.ToJson() all of it).
    var report = new Evaluator().Evaluate(model, data);
    Console.WriteLine($"Clean accuracy on {data.Count} images of {dataRoot}: {report.Accuracy.ToString("P2", ci)}");

    // Step 3: PGD-10 at 8/255 on the first images; the adversarials stay within the budget and in [0,1].
    int count = Math.Min(attackImages, data.Count);
    using (var scope = NewDisposeScope())
    {
        var images = data.ToTensor(0, count);
        var labels = data.LabelsTensor(0, count);
        var pgd = new Pgd(new PgdOptions { Epsilon = Budget.Parse("8/255"), Steps = 10, Seed = 0 });
        var adversarial = pgd.Run(model, images, labels);
        long clean = model.Predict(images).eq(labels).sum().item<long>();
        long robust = model.Predict(adversarial).eq(labels).sum().item<long>();
        double largest = (adversarial - images).abs().max().item<float>();
        Console.WriteLine(string.Create(ci, $"{pgd}: {robust}/{count} still correct (clean {clean}/{count}); largest change {largest * 255:F2}/255"));
    }

    // Step 4: save as a model file and read it back: same classes, same logits.
    model.Save(outPath);
    using var again = Classifier.Load(outPath);
    using (var scope = NewDisposeScope())
    {
        var images = data.ToTensor(0, Math.Min(16, data.Count));
        double difference = (model.Forward(images) - again.Forward(images)).abs().max().item<float>();
        Console.WriteLine(string.Create(ci, $"Saved {outPath}; reloaded: {again.Spec.Architecture}, classes [{string.Join(", ", again.ClassNames)}], largest logit difference {difference:G3}"));
        if (difference > 1e-5) { Console.Error.WriteLine("The reloaded model gives other logits."); return 1; }
    }
    return 0;
}
catch (StateDictMismatchException e)
{
    Console.Error.WriteLine(e.Message); // every missing, unexpected and mis-shaped tensor, and what to do
    return 1;
}
finally
{
    if (smokeFolder is not null) Directory.Delete(smokeFolder, recursive: true);
}

// Reads the state dict and builds the classifier; the tensors StateDictFile.Read returns are the caller's to dispose
// (FromStateDict copies them into the network).
static Classifier Import(string path, string? key, ModelSpec spec, Normalization normalization, IReadOnlyList<string> classNames, out int tensors)
{
    var stateDict = StateDictFile.Read(path, key);
    try
    {
        tensors = stateDict.Count;
        return Classifier.FromStateDict(stateDict, spec, normalization, classNames, source: path);
    }
    finally
    {
        foreach (var tensor in stateDict.Values) tensor.Dispose();
    }
}

// The folder holding Robustness.sln, walking up from the program's folder (bin/Release/net10.0/<rid>/ in the repository).
static string? RepositoryRoot()
{
    for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        if (File.Exists(Path.Combine(folder.FullName, "Robustness.sln"))) return folder.FullName;
    return null;
}

static int Usage(string problem)
{
    Console.Error.WriteLine($"error: {problem}");
    Console.Error.WriteLine("usage: ImportPyTorch WEIGHTS DATA_DIR [--arch A] [--width W] [--image-size S] [--normalization cifar10|imagenet|none] [--key KEY] [--out MODEL.safetensors] | --smoke");
    return 2;
}
