using Microsoft.Extensions.DependencyInjection;
using Robustness.Hosting;
// Sample: train a CIFAR ResNet-18 (width 16) with SEP's recipe, keep a checkpoint per epoch, save, reload, evaluate,
// then attack it: PGD on a batch, and the AutoAttack-style evaluation on 20 test images (the standard ensemble is
// expensive on a CPU: APGD-T and FAB-T try 9 target classes, Square spends 5,000 queries on every point it cannot break).
// Usage: dotnet run --project samples/TrainAndEvaluate [-- TRAIN_DIR TEST_DIR | --smoke]
//   With no arguments it uses the built-in synthetic set; with two class-folder trees it uses them
//   (for CIFAR-10: tar xzf ../shared/datasets/cifar10/cifar10-jpeg.tar.gz -C /tmp/cifar10, then pass
//   /tmp/cifar10/train /tmp/cifar10/test). A few minutes on 2 cores for the synthetic set.
//   --smoke: the same steps on a tiny run (512 synthetic 16x16 training images, width 4, 2 epochs, AutoAttack on
//   8 images): seconds.
using Robustness;
using Robustness.Attacks;
using Robustness.Attacks.Evaluation;
using Robustness.Data;
using Robustness.Models;
using Robustness.Training;

bool smoke = args.Contains("--smoke");
int width = 16, epochs = 5, autoAttackImages = 20;
ImageSet train, test;
if (smoke)
{
    var sets = SyntheticImageSet.TrainTest(trainCount: 512, testCount: 64, seed: 0, size: 16);
    (train, test) = (sets.Train, sets.Test);
    (width, epochs, autoAttackImages) = (4, 2, 8);
    // Tiny tensors: one libtorch thread is fastest and keeps the run short on a busy machine.
    TorchSharp.torch.set_num_threads(1);
}
else if (args.Length == 2)
{
    var read = ImageFolderReader.Read(args[0]);
    foreach (var error in read.Errors) Console.Error.WriteLine($"skipped {error.RelativePath}: {error.Message}");
    train = read.Images;
    test = ImageFolderReader.Read(args[1]).Images;
}
else
{
    var sets = SyntheticImageSet.TrainTest(trainCount: 5000, testCount: 1000, seed: 0);
    (train, test) = (sets.Train, sets.Test);
}

using var model = Classifier.Create(new ModelSpec("resnet18", Classes: train.ClassNames.Count, Width: width, ImageSize: train.Height),
    ChannelStatistics.Of(train), train.ClassNames, seed: 0);
Console.WriteLine($"ResNet-18 w{width}: {model.ParameterCount:N0} parameters; {train.Count} training images.");

var options = TrainingOptions.ForSep(epochs) with { Augmentation = ComposedAugmentation.Cifar(padding: Math.Max(1, train.Height / 8)), Seed = 0 };
string folder = Directory.CreateTempSubdirectory("robustness-sample-").FullName; // a fresh folder each run
using var checkpoints = CheckpointSet.Create(Path.Combine(folder, "checkpoints"));
var progress = new Progress<TrainingProgress>(p => Console.WriteLine($"epoch {p.Epoch + 1}/{p.Epochs} batch {p.Batch}/{p.BatchesPerEpoch} loss {p.Loss:F3}"));
var result = new Trainer(options).Train(model, train, test, checkpoints, progress);
Console.WriteLine($"test accuracy {result.Final.Test!.Accuracy:P1}; checkpoints at epochs {string.Join(", ", checkpoints.Epochs)}");

string path = Path.Combine(folder, $"resnet18-w{width}.safetensors");
model.Save(path);
using var again = Classifier.Load(path);
var report = new Evaluator().Evaluate(again, test);
Console.WriteLine($"reloaded model: {report}");
Console.WriteLine(report.ToJson());

// Attacks take the same classifier and raw [0,1] images.
int attacked = Math.Min(64, test.Count);
using var images = test.ToTensor(0, attacked);
using var labels = test.LabelsTensor(0, attacked);
var pgd = new Pgd(new PgdOptions { Epsilon = Budget.Parse("8/255"), Steps = 10, Seed = 0 });
using var adversarial = pgd.Run(again, images, labels);
using (var predictions = again.Predict(adversarial))
using (var correct = predictions.eq(labels))
    Console.WriteLine($"PGD-10 at 8/255: {correct.sum().item<long>()}/{attacked} still correct");

// Techniques are found through the catalogue that AddRobustness() registers (modules add theirs to it).
var services = new ServiceCollection();
services.AddRobustness().AddAttacks();
using var provider = services.BuildServiceProvider();
var catalog = provider.GetRequiredService<ITechniqueCatalog>();
var autoAttack = catalog.StandardAutoAttack(Norm.Linf, 8.0 / 255);
var stages = new Progress<EvaluationProgress>(p => { if (p.Batch == p.Batches) Console.WriteLine($"  {p.Stage} done, {p.Elapsed:mm\\:ss}"); });
var robust = autoAttack.Evaluate(again, test.Subset(Enumerable.Range(0, autoAttackImages).ToArray()), stages);
Console.WriteLine(robust.ToMarkdown());
if (smoke) Directory.Delete(folder, recursive: true);
