using System.Globalization;
using Robustness.Benchmarks;

// Benchmarks, not tests: they measure speed and effectiveness and write results to benchmarks/results/.
//   training [--quick] [--repeats N] [--threads N] [--python PATH]   Trainer vs PyTorch images/s and memory
//   pgd [--quick] [--repeats N] [--threads N] [--python PATH]        PGD-10 img/s and robust accuracy vs PyTorch
//   memory [--batches N]                                             RSS over thousands of training batches
//   training-worker ARCH WIDTH BATCH WARMUP TIMED THREADS            (internal: one measurement, one process)
//   pgd-worker WORKDIR BATCH THREADS                                 (internal: one PGD measurement, one process)
string Option(string name, string fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}
int IntOption(string name, int fallback) => int.Parse(Option(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

string results = Option("--results", Path.Combine(TrainingBenchmark.RepositoryRoot(), "benchmarks", "results"));
switch (args.FirstOrDefault())
{
    case "training":
        return TrainingBenchmark.Run(results, Option("--python", "/usr/bin/python3"), args.Contains("--quick"), IntOption("--threads", 2), IntOption("--repeats", 2));
    case "training-worker":
        return TrainingWorker.Run(args[1], int.Parse(args[2], CultureInfo.InvariantCulture), int.Parse(args[3], CultureInfo.InvariantCulture),
            int.Parse(args[4], CultureInfo.InvariantCulture), int.Parse(args[5], CultureInfo.InvariantCulture), int.Parse(args[6], CultureInfo.InvariantCulture), args.Contains("--raw"));
    case "pgd":
        return PgdBenchmark.Run(results, Option("--python", "/usr/bin/python3"), args.Contains("--quick"), IntOption("--threads", 2), IntOption("--repeats", 2));
    case "pgd-worker":
        return PgdWorker.Measure(args[1], int.Parse(args[2], CultureInfo.InvariantCulture), int.Parse(args[3], CultureInfo.InvariantCulture), args.Contains("--stop-on-success"));
    case "memory":
        return MemoryBenchmark.Run(results, IntOption("--batches", 3000));
    default:
        Console.Error.WriteLine("usage: Robustness.Benchmarks training [--quick] [--repeats N] [--threads N] [--python PATH] | pgd [--quick] [--repeats N] [--threads N] [--python PATH] | memory [--batches N]");
        return 2;
}
