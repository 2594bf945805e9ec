using System.Globalization;
using Robustness.Benchmarks;

// Benchmarks, not tests: they measure speed and effectiveness and write results to benchmarks/results/.
//   training [--quick] [--repeats N] [--threads N] [--python PATH]   Trainer vs PyTorch images/s and memory
//   pgd [--quick] [--repeats N] [--threads N] [--python PATH]        PGD-10 img/s and robust accuracy vs PyTorch
//   memory [--batches N]                                             RSS over thousands of training batches
//   training-worker ARCH WIDTH BATCH WARMUP TIMED THREADS            (internal: one measurement, one process)
//   pgd-worker WORKDIR BATCH THREADS                                 (internal: one PGD measurement, one process)
//   sep-craft [--quick] [--repeats N] [--threads N] [--python PATH] [--device cpu|cuda]  SEP crafting passes/s vs PyTorch, output agreement
//   sep-craft-worker WORKDIR BATCH THREADS OUTFILE [DEVICE] [VARIANT]  (internal: one SEP crafting measurement, one process)
//   sep-craft-ideas [--repeats 3] [--threads 2] [--width 16] [--k 5] [--iterations 10] [--images 128]
//                                                                    issue 18's speed ideas for SEP crafting, each against the library and PyTorch
//   kernel-guard [--quick] [--repeats 3] [--threads N]                what the oneDNN kernel guard costs: guard (AVX cap), AVX2 cap, off, no oneDNN; fresh processes
//   vit [--per-class 1000] [--test-per-class 200] [--width 96] [--depth 6] [--heads 3] [--epochs 10] [--threads 2] [--name vit-cifar10-cpu] [--data TARBALL]
//                                                                    ViT on CIFAR-10: accuracy, s/epoch, PGD-10, latency and accuracy with token selection
//   slicing [--per-class 1000] [--test-per-class 200] [--width 16] [--epochs 15] [--fine-tune-epochs 5] [--threads 2] [--name slicing-cifar10-cpu] [--data TARBALL]
//                                                                    channel slicing of a ResNet-18: accuracy, MACs, latency per ratio and selector vs from scratch
//   all-in-one [--per-class 1000] [--test-per-class 200] [--width 16] [--epochs 15] [--threads 2] [--request-batch 16] [--name all-in-one-cifar10-cpu] [--data TARBALL]
//                                                                    All-in-One: accuracy per ratio vs separate and one-shot, DVFS latency table, switching trace
//   robust-all-in-one [--per-class 500] [--test-per-class 100] [--width 16] [--adversarial-epochs 10] [--epochs 10] [--lr 0.01] [--hsic on|off]
//             [--attack-images 200] [--autoattack on|off] [--threads 2] [--name robust-all-in-one-cifar10-cpu] [--data TARBALL]
//                                                                    robust All-in-One from a PGD-AT teacher vs PGD-AT separate models and one-shot slices
//   black-box [--per-class 500] [--epochs 15] [--images 100] [--budgets 500,2000] [--eps 8/255] [--threads 2] [--name black-box-cifar10-cpu] [--data TARBALL]
//                                                                    Square vs ZO-signSGD vs NES at equal query budgets on a trained ResNet-18 w16
//   sep-table [--per-class 200] [--test 10000] [--width 16] [--epochs 30] [--k 5] [--iterations 30] [--inner-steps 15]
//             [--eps 8/255,2/255] [--methods clean,random,final-checkpoint,sep,sep-fa] [--victim-seed 1] [--source-seed 0]
//             [--device cpu] [--threads 2] [--batch 128] [--name sep-cifar10-cpu] [--work DIR] [--data TARBALL]
//                                                                    CIFAR-10 reduced-scale SEP table, resumable by stage
//   sep-table-merge --name NAME --parts A,B,...                      one table from runs of the same settings made side by side
//   attack-table --model NAME=FILE [--model NAME=FILE ...] --data DIR [--images 1000] [--eps 8/255] [--attacks LIST]
//             [--autoattack on|off] [--device cpu|cuda] [--threads 2] [--batch 256] [--name attack-cifar10-cpu] [--results DIR] [--work DIR]
//                                                                    clean and robust accuracy under every attack + AutoAttack, resumable by row
//   pwoa-table --teacher FILE --train DIR --test DIR [--sparsities 4x,16x,2x,8x] [--methods pwoa,magnitude,adversarial] [--admm-epochs N] [--retrain-epochs M] [--profile paper|fast] [--eval-images 1000] [--eps 8/255] [--autoattack on|off] [--device cpu|cuda] [--threads 2] [--name pwoa-cifar10-cpu] [--work DIR] [--results DIR] [--teacher-recipe TEXT]   PwoA vs naive vs adversarial pruning of a robust teacher, resumable by row
//   autoattack --model FILE --data DIR --torchattacks SRC [--images 1000] [--steps 100,10] [--eps 8/255] [--threads 2] [--batch 250] [--capped on|off] [--name autoattack-cpu]
//                                                                    standard AutoAttack against torchattacks' on the same weights and images (and torchattacks under the guard's oneDNN cap)
//   openmp-waiting [--repeats 2] [--threads 2] [--name openmp-waiting-cpu]
//                                                                    the library's GOMP_SPINCOUNT against libgomp's default, alone and beside a second busy process
//   heap-retention [--huge-pages] [--repeats 2] [--threads 2] [--python /usr/bin/python3] [--name heap-retention-cpu|huge-pages-cpu] [--only WORD,...]
//                                                                    the library with and without HeapRetention, against PyTorch with glibc's defaults and with the same thresholds
// A libtorch other than the bundled CPU one (e.g. a CUDA PyTorch install's torch/lib) must be loaded before any
// TorchSharp call: ROBUSTNESS_LIBTORCH_DIR names it (benchmarks/gpu/run-on-device.sh sets it).
Robustness.Runtime.TorchRuntime.ConfigureFromEnvironment();
OneDnnSwitch.ApplyFromEnvironment();

string Option(string name, string fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}
int IntOption(string name, int fallback) => int.Parse(Option(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
bool OnOff(string name, string fallback) => Option(name, fallback) switch
{
    "on" => true,
    "off" => false,
    var other => throw new ArgumentOutOfRangeException(name, other, $"{name} takes on or off."),
};

string results = Option("--results", Path.Combine(TrainingBenchmark.RepositoryRoot(), "benchmarks", "results"));
switch (args.FirstOrDefault())
{
    case "training":
        return TrainingBenchmark.Run(results, Option("--python", "/usr/bin/python3"), args.Contains("--quick"), IntOption("--threads", 2), IntOption("--repeats", 2));
    case "self-check-worker":
        return KernelGuardBenchmark.SelfCheckWorker();
    case "training-worker":
        return TrainingWorker.Run(args[1], int.Parse(args[2], CultureInfo.InvariantCulture), int.Parse(args[3], CultureInfo.InvariantCulture),
            int.Parse(args[4], CultureInfo.InvariantCulture), int.Parse(args[5], CultureInfo.InvariantCulture), int.Parse(args[6], CultureInfo.InvariantCulture), args.Contains("--raw"),
            args.Contains("--channels-last"));
    case "pgd":
        return PgdBenchmark.Run(results, Option("--python", "/usr/bin/python3"), args.Contains("--quick"), IntOption("--threads", 2), IntOption("--repeats", 2));
    case "pgd-worker":
        return PgdWorker.Measure(args[1], int.Parse(args[2], CultureInfo.InvariantCulture), int.Parse(args[3], CultureInfo.InvariantCulture), args.Contains("--stop-on-success"));
    case "vit":
        return VitBenchmark.Run(results, new VitBenchmark.Options(IntOption("--per-class", 1000), IntOption("--test-per-class", 200), IntOption("--width", 96),
            IntOption("--depth", 6), IntOption("--heads", 3), IntOption("--epochs", 10), IntOption("--threads", 2),
            Option("--data", Path.Combine(TrainingBenchmark.RepositoryRoot(), "..", "shared", "datasets", "cifar10", "cifar10-jpeg.tar.gz")), Option("--name", "vit-cifar10-cpu")));
    case "slicing":
        return SlicingBenchmark.Run(results, new SlicingBenchmark.Options(IntOption("--per-class", 1000), IntOption("--test-per-class", 200), IntOption("--width", 16),
            IntOption("--epochs", 15), IntOption("--fine-tune-epochs", 5), IntOption("--threads", 2),
            Option("--data", Path.Combine(TrainingBenchmark.RepositoryRoot(), "..", "shared", "datasets", "cifar10", "cifar10-jpeg.tar.gz")), Option("--name", "slicing-cifar10-cpu")));
    case "black-box":
        return BlackBoxBenchmark.Run(results, new BlackBoxBenchmark.Options(IntOption("--per-class", 500), IntOption("--epochs", 15), IntOption("--images", 100),
            [.. Option("--budgets", "500,2000").Split(',').Select(b => int.Parse(b, CultureInfo.InvariantCulture))], Robustness.Attacks.Budget.Parse(Option("--eps", "8/255")),
            IntOption("--threads", 2), Option("--data", Path.Combine(TrainingBenchmark.RepositoryRoot(), "..", "shared", "datasets", "cifar10", "cifar10-jpeg.tar.gz")),
            Option("--name", "black-box-cifar10-cpu")));
    case "robust-all-in-one":
        return RobustAllInOneBenchmark.Run(results, new RobustAllInOneBenchmark.Options(IntOption("--per-class", 500), IntOption("--test-per-class", 100), IntOption("--width", 16),
            IntOption("--adversarial-epochs", 10), IntOption("--epochs", 10), double.Parse(Option("--lr", "0.01"), CultureInfo.InvariantCulture), Option("--hsic", "on") == "on",
            IntOption("--attack-images", 200), Option("--autoattack", "on") == "on", IntOption("--threads", 2),
            Option("--data", Path.Combine(TrainingBenchmark.RepositoryRoot(), "..", "shared", "datasets", "cifar10", "cifar10-jpeg.tar.gz")), Option("--name", "robust-all-in-one-cifar10-cpu")));
    case "all-in-one":
        return AllInOneBenchmark.Run(results, new AllInOneBenchmark.Options(IntOption("--per-class", 1000), IntOption("--test-per-class", 200), IntOption("--width", 16),
            IntOption("--epochs", 15), IntOption("--threads", 2), IntOption("--request-batch", 16),
            Option("--data", Path.Combine(TrainingBenchmark.RepositoryRoot(), "..", "shared", "datasets", "cifar10", "cifar10-jpeg.tar.gz")), Option("--name", "all-in-one-cifar10-cpu")));
    case "kernel-guard":
        return KernelGuardBenchmark.Run(results, args.Contains("--quick"), IntOption("--threads", 2), IntOption("--repeats", 3));
    case "sep-craft":
        return SepCraftBenchmark.Run(results, Option("--python", "/usr/bin/python3"), args.Contains("--quick"), IntOption("--threads", 2), IntOption("--repeats", 2), Option("--device", "cpu"));
    case "sep-craft-worker":
        return SepCraftWorker.Measure(args[1], int.Parse(args[2], CultureInfo.InvariantCulture), int.Parse(args[3], CultureInfo.InvariantCulture), args[4],
            args.Length > 5 ? args[5] : "cpu", args.Length > 6 ? args[6] : "");
    case "sep-craft-ideas":
        return SepCraftIdeasBenchmark.Run(results, Option("--python", "/usr/bin/python3"), IntOption("--threads", 2), IntOption("--repeats", 3),
            IntOption("--width", 16), IntOption("--k", 5), IntOption("--iterations", 10), IntOption("--images", 128),
            Option("--settings", "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), Option("--name", "sep-craft-ideas-cpu"));
    case "sep-table":
    {
        var settings = new SepTableSettings
        {
            TrainPerClass = IntOption("--per-class", 200), TestImages = IntOption("--test", 10_000), Width = IntOption("--width", 16),
            Epochs = IntOption("--epochs", 30), CheckpointCount = IntOption("--k", 5), Iterations = IntOption("--iterations", 30),
            InnerSteps = IntOption("--inner-steps", 15), SourceSeed = IntOption("--source-seed", 0), VictimSeed = IntOption("--victim-seed", 1),
        };
        string[] List(string name, string fallback) => Option(name, fallback).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return SepTable.Run(new SepTable.Invocation(settings, List("--methods", "clean,random,final-checkpoint,sep,sep-fa"), List("--eps", "8/255"),
            Option("--data", "/work/shared/datasets/cifar10/cifar10-jpeg.tar.gz"), Option("--work", Path.Combine(Path.GetTempPath(), "robustness-sep-table")),
            results, Option("--name", "sep-cifar10-cpu"), Option("--device", "cpu"), IntOption("--threads", 2), IntOption("--batch", 128)));
    }
    case "sep-table-merge":
        return SepTable.Merge(results, Option("--name", "sep-cifar10-gpu"),
            Option("--parts", "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    case "attack-table":
    {
        var models = new List<(string Name, string File)>();
        for (int i = 0; i + 1 < args.Length; i++)
        {
            if (args[i] != "--model") continue;
            int eq = args[i + 1].IndexOf('=');
            if (eq <= 0) throw new ArgumentOutOfRangeException("--model", args[i + 1], "--model takes NAME=FILE, e.g. clean=/tmp/w/clean.safetensors.");
            models.Add((args[i + 1][..eq], args[i + 1][(eq + 1)..]));
        }
        string autoAttack = Option("--autoattack", "on");
        if (autoAttack is not ("on" or "off")) throw new ArgumentOutOfRangeException("--autoattack", autoAttack, "--autoattack takes on or off.");
        string epsText = Option("--eps", "8/255");
        string dataFolder = Option("--data", "");
        if (dataFolder.Length == 0) throw new ArgumentOutOfRangeException("--data", "--data DIR (test images in class folders) is required.");
        var settings = new AttackTableSettings
        {
            DataFolder = Path.GetFullPath(dataFolder), Images = IntOption("--images", 1000), Eps = epsText,
            Epsilon = Robustness.Attacks.Budget.Parse(epsText, "--eps"), Batch = IntOption("--batch", 256),
        };
        var attacks = Option("--attacks", string.Join(",", AttackTable.DefaultAttacks)).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return AttackTable.Run(new AttackTable.Invocation(settings, models, attacks, autoAttack == "on", results,
            Option("--work", Path.Combine(Path.GetTempPath(), "robustness-attack-table")), Option("--name", "attack-cifar10-cpu"),
            Option("--device", "cpu"), IntOption("--threads", 2)));
    }
    case "pwoa-table":
    {
        string[] Items(string name, string fallback) => Option(name, fallback).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        int? Epochs(string name) => Option(name, "") is { Length: > 0 } text ? int.Parse(text, CultureInfo.InvariantCulture) : null;
        string autoAttack = Option("--autoattack", "on");
        if (autoAttack is not ("on" or "off")) throw new ArgumentOutOfRangeException("--autoattack", autoAttack, "--autoattack must be on or off.");
        return PwoaTable.Run(new PwoaTable.Invocation(Option("--teacher", ""), Option("--train", ""), Option("--test", ""), Items("--sparsities", "4x,16x,2x,8x"),
            Items("--methods", "pwoa,magnitude,adversarial"), Epochs("--admm-epochs"), Epochs("--retrain-epochs"), Option("--profile", "paper"),
            IntOption("--eval-images", 1000), Option("--eps", "8/255"), autoAttack == "on", Option("--device", "cpu"), IntOption("--threads", 2),
            Option("--name", "pwoa-cifar10-cpu"), Option("--work", Path.Combine(Path.GetTempPath(), "robustness-pwoa-table")), results, Option("--teacher-recipe", null!)));
    }
    case "autoattack":
        return AutoAttackBenchmark.Run(results, new AutoAttackBenchmark.Options(Option("--model", ""), Option("--data", ""), IntOption("--images", 1000),
            Option("--torchattacks", ""), [.. Option("--steps", "100,10").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))],
            Robustness.Attacks.Budget.Parse(Option("--eps", "8/255"), "--eps"), Option("--eps", "8/255"), IntOption("--threads", 2), IntOption("--batch", 250),
            Option("--python", "/usr/bin/python3"), Option("--name", "autoattack-cpu"), OnOff("--capped", "on")));
    case "openmp-waiting":
        return OpenMpWaitingBenchmark.Run(results, IntOption("--threads", 2), IntOption("--repeats", 2), Option("--name", "openmp-waiting-cpu"));
    case "heap-retention":
        return HeapRetentionBenchmark.Run(results, Option("--python", "/usr/bin/python3"), IntOption("--threads", 2), IntOption("--repeats", 2),
            Option("--name", args.Contains("--huge-pages") ? "huge-pages-cpu" : "heap-retention-cpu"), args.Contains("--huge-pages"),
            args.Contains("--only") ? Option("--only", "") : null);
    case "autoattack-worker":
        return AutoAttackBenchmark.Worker(args[1], args[2], int.Parse(args[3], CultureInfo.InvariantCulture), int.Parse(args[4], CultureInfo.InvariantCulture),
            int.Parse(args[5], CultureInfo.InvariantCulture), int.Parse(args[6], CultureInfo.InvariantCulture), args[7]);
    case "sep-scale":
        return args.Contains("--report") ? SepScaleBenchmark.Report(results) : SepScaleBenchmark.Run(results, IntOption("--threads", 2), IntOption("--repeats", 2));
    case "sep-scale-worker":
        return SepScaleBenchmark.Worker(args[1], int.Parse(args[2], CultureInfo.InvariantCulture), int.Parse(args[3], CultureInfo.InvariantCulture),
            int.Parse(args[4], CultureInfo.InvariantCulture), int.Parse(args[5], CultureInfo.InvariantCulture), int.Parse(args[6], CultureInfo.InvariantCulture),
            int.Parse(args[7], CultureInfo.InvariantCulture), int.Parse(args[8], CultureInfo.InvariantCulture));
    case "bf16":
        return Bf16Benchmark.Run(results, Option("--python", "/usr/bin/python3"), IntOption("--threads", 2), IntOption("--repeats", 3));
    case "bf16-worker":
        return Bf16Benchmark.Worker(args[1], int.Parse(args[2], CultureInfo.InvariantCulture));
    case "memory":
        return MemoryBenchmark.Run(results, IntOption("--batches", 3000));
    default:
        Console.Error.WriteLine("usage: Robustness.Benchmarks training [--quick] [--repeats N] [--threads N] [--python PATH] | pgd [--quick] [--repeats N] [--threads N] [--python PATH] | memory [--batches N] | sep-craft [--quick] | sep-table [options, see Program.cs] | attack-table --model NAME=FILE ... --data DIR [options, see Program.cs] | pwoa-table --teacher FILE --train DIR --test DIR [options, see Program.cs]");
        return 2;
}
