using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Robustness.Attacks;
using Robustness.Data;
using Robustness.Models;
using Robustness.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Benchmarks;

/// <summary>
/// The score-based black-box attacks at equal query budgets (issue 15: ZO-signSGD and NES against the suite's Square):
/// trains a ResNet-18 (width 16) on a class-balanced CIFAR-10 subset (SEP recipe), then, on the first test images it
/// classifies correctly, runs Square, ZO-signSGD and NES with the same query budget per image (Square stops querying a
/// fooled image; the zeroth-order attacks spend their whole schedule, as RED-adv runs them) and records robust
/// accuracy, mean queries spent and wall time. ZO-signSGD and NES use RED-adv's step size (0.0005) and, as a second
/// row, a step of eps/10 (the budget reachable in 10 steps). Writes benchmarks/results/black-box-cifar10-cpu.{json,md}.
/// </summary>
public static class BlackBoxBenchmark
{
    public sealed record Options(int PerClass, int Epochs, int Images, IReadOnlyList<int> Budgets, double Epsilon, int Threads, string Tarball, string Name);

    public sealed record Row(string Attack, string Settings, int Budget, double RobustAccuracy, double MeanQueries, double Seconds);

    public sealed record Result(Options Settings, MachineInfo Machine, string CpuFlags, double CleanAccuracy, int Images, IReadOnlyList<Row> Rows, string Command);

    public static int Run(string resultsDir, Options o)
    {
        torch.set_num_threads(o.Threads);
        string work = Path.Combine(Path.GetTempPath(), "robustness-black-box-bench");
        var (train, test) = CifarJpegSubset.Load(o.Tarball, Path.Combine(work, "jpeg"), o.PerClass, 100);
        var recipe = TrainingOptions.ForSep(o.Epochs) with
        {
            Augmentation = ComposedAugmentation.Cifar(), Seed = 0, Checkpoints = CheckpointSchedule.None, EvaluationInterval = o.Epochs, ProgressInterval = int.MaxValue,
        };
        using var model = Classifier.Create(new ModelSpec("resnet18", 10, 16, ImageSize: 32), Normalization.Cifar10, train.ClassNames, seed: 0);
        new Trainer(recipe).Train(model, train);
        model.Eval();
        double clean = new Evaluator(256).Evaluate(model, test).Accuracy;
        Console.WriteLine(Inv($"model: {clean:P2} clean test accuracy"));

        // The first o.Images test images the model gets right: every attack starts from the same correctly classified set.
        using var scope = torch.NewDisposeScope();
        var all = test.ToTensor(0, test.Count);
        var labels = test.LabelsTensor(0, test.Count);
        var correct = model.Predict(all).eq(labels).nonzero().squeeze(1);
        long n = Math.Min(o.Images, correct.shape[0]);
        var images = all.index_select(0, correct.narrow(0, 0, n));
        var truth = labels.index_select(0, correct.narrow(0, 0, n));

        var rows = new List<Row>();
        foreach (int budget in o.Budgets)
        {
            var attacks = new List<(string Settings, IAttack Attack)>
            {
                ("p_init 0.8", new Square(new SquareOptions { Epsilon = o.Epsilon, Queries = budget })),
                ("RED-adv step 0.0005", new ZoSignSgd(new ZoSignSgdOptions { Epsilon = o.Epsilon, Steps = Math.Max(1, budget / new ZoSignSgdOptions().QueriesPerStep) })),
                ("step eps/10", new ZoSignSgd(new ZoSignSgdOptions { Epsilon = o.Epsilon, StepSize = o.Epsilon / 10, Steps = Math.Max(1, budget / new ZoSignSgdOptions().QueriesPerStep) })),
                ("RED-adv step 0.0005", new Nes(new NesOptions { Epsilon = o.Epsilon, Steps = Math.Max(1, budget / new NesOptions().QueriesPerStep) })),
                ("step eps/10", new Nes(new NesOptions { Epsilon = o.Epsilon, StepSize = o.Epsilon / 10, Steps = Math.Max(1, budget / new NesOptions().QueriesPerStep) })),
            };
            foreach (var (settings, attack) in attacks)
            {
                using var attackScope = torch.NewDisposeScope();
                var clock = Stopwatch.StartNew();
                var adversarial = attack.Run(model, images, truth);
                double seconds = clock.Elapsed.TotalSeconds;
                double robust = model.Predict(adversarial).eq(truth).to(ScalarType.Float32).mean().item<float>();
                var counts = attack switch
                {
                    Square s => s.LastQueryCounts!,
                    ZoSignSgd z => z.LastQueryCounts!,
                    Nes e => e.LastQueryCounts!,
                    _ => throw new InvalidOperationException(attack.Name),
                };
                var row = new Row(attack.Name, settings, budget, robust, counts.Average(), seconds);
                rows.Add(row);
                Console.WriteLine(Inv($"{budget} queries, {attack.Name} ({settings}): robust accuracy {robust:P1}, {row.MeanQueries:F0} queries/image, {seconds:F0} s"));
            }
        }

        var result = new Result(o, MachineInfo.Current(), string.Join(" ", Runtime.CpuFeatures.Current.Extensions.Where(f => f.StartsWith("avx", StringComparison.Ordinal) || f == "fma")),
            clean, (int)n, rows,
            Inv($"dotnet run -c Release --project benchmarks/Robustness.Benchmarks -- black-box --per-class {o.PerClass} --epochs {o.Epochs} --images {o.Images} --budgets {string.Join(",", o.Budgets)} --eps {Budget.Format(o.Epsilon)} --threads {o.Threads} --name {o.Name}"));
        Directory.CreateDirectory(resultsDir);
        File.WriteAllText(Path.Combine(resultsDir, o.Name + ".json"), JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true }));
        File.WriteAllText(Path.Combine(resultsDir, o.Name + ".md"), Markdown(result));
        Console.WriteLine($"wrote {Path.Combine(resultsDir, o.Name)}.{{json,md}}");
        return 0;
    }

    private static string Markdown(Result r)
    {
        var o = r.Settings;
        var md = new StringBuilder();
        md.AppendLine("# Score-based black-box attacks at equal query budgets (CIFAR-10, CPU)");
        md.AppendLine();
        md.AppendLine(Inv($"Machine: {r.Machine.Cpu}, {r.Machine.Cores} cores, {r.Machine.Os}, {r.Machine.DotNet}, {r.Machine.Date}; CPU flags: {r.CpuFlags}; {o.Threads} threads."));
        md.AppendLine();
        md.AppendLine(Inv($"Model: ResNet-18 width 16 trained on {o.PerClass * 10} CIFAR-10 images ({o.PerClass} per class), {o.Epochs} epochs (SEP recipe), clean test accuracy {r.CleanAccuracy:P2} on 1,000 test images. Attacked: the first {r.Images} test images it classifies correctly (robust accuracy starts at 100%), l-inf {Budget.Format(o.Epsilon)}, untargeted, seed 0. Square stops querying an image once it is fooled; ZO-signSGD (q = 10 directions, one-sided differences, 11 queries per step) and NES (5 antithetic pairs, 10 queries per step) spend their whole schedule, as RED-adv runs them; smoothing 0.01."));
        md.AppendLine();
        md.AppendLine("| queries per image | attack | settings | robust accuracy | mean queries spent | wall time, s |");
        md.AppendLine("|---:|---|---|---:|---:|---:|");
        foreach (var row in r.Rows)
            md.AppendLine(Inv($"| {row.Budget:N0} | {row.Attack} | {row.Settings} | {row.RobustAccuracy:P1} | {row.MeanQueries:N0} | {row.Seconds:F0} |"));
        md.AppendLine();
        md.AppendLine($"Produced by: `{r.Command}`");
        return md.ToString();
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
