using System.Globalization;
using Robustness.Attacks;
using Robustness.Attacks.Evaluation;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Forensics;

/// <summary>
/// One attack setting whose examples the record set keeps: the attack's catalogue name (the "attack type" model
/// parsing is asked about), its l-inf budget and the knobs RED-adv sets.
/// </summary>
/// <param name="Attack"><c>fgsm</c>, <c>pgd</c>, <c>cw-l2</c>, <c>autoattack</c>, <c>square</c>, <c>zo-signsgd</c> or <c>nes</c>.</param>
/// <param name="Epsilon">The l-inf budget on the [0, 1] scale; null for CW-l2 (minimum norm).</param>
/// <param name="StepSize">PGD's step (RED-adv: 0.5, 1, 2, 2 /255 at 4, 8, 12, 16 /255); ZO-signSGD's and NES's (RED-adv: 0.0005).</param>
/// <param name="Constant">CW's fixed trade-off constant c (RED-adv: 0.1, 1, 10; no binary search).</param>
/// <param name="Queries">Square's query budget.</param>
/// <param name="Steps">Iterations (PGD 10, CW 50, ZO-signSGD and NES 500 by default).</param>
public sealed record RecordedAttack(string Attack, double? Epsilon, double? StepSize = null, double? Constant = null, int? Queries = null, int? Steps = null)
{
    /// <summary>The attack types, in RED-adv's order.</summary>
    public static IReadOnlyList<string> Types { get; } = ["fgsm", "pgd", "cw-l2", "autoattack", "square", "zo-signsgd", "nes"];

    /// <summary>A file-name-safe label: <c>pgd-eps8</c>, <c>cw-l2-c0.1</c>, <c>square-eps8</c>.</summary>
    public string Label => Attack + (Epsilon is double e ? string.Create(CultureInfo.InvariantCulture, $"-eps{Math.Round(e * 255, 2)}") : "")
        + (Constant is double c ? string.Create(CultureInfo.InvariantCulture, $"-c{c}") : "");

    /// <summary>The budget in 1/255 units (what the records and tables show), or null.</summary>
    public double? EpsilonPixels => Epsilon is double e ? Math.Round(e * 255, 2) : null;

    /// <summary>The attack, seeded with <paramref name="seed"/>.</summary>
    public IAttack Build(int seed)
    {
        double eps = Epsilon ?? 0;
        return Attack switch
        {
            "fgsm" => new Fgsm(new FgsmOptions { Epsilon = eps, Seed = seed }),
            "pgd" => new Pgd(new PgdOptions { Epsilon = eps, Steps = Steps ?? 10, StepSize = StepSize, Seed = seed }),
            "cw-l2" => new CwL2(new CwL2Options { Steps = Steps ?? 50, SearchSteps = 1, InitialConstant = Constant ?? 1, Seed = seed }),
            "autoattack" => new AttackSequence(AutoAttackEvaluator.Standard((name, settings) => BuiltInAttacks.Get(name).Build(settings), Norm.Linf, eps, seed).Attacks),
            "square" => new Square(new SquareOptions { Epsilon = eps, Queries = Queries ?? AutoAttackEvaluator.StandardSquareQueries, Seed = seed }),
            "zo-signsgd" => new ZoSignSgd(Schedule(new ZoSignSgdOptions { Epsilon = eps, Seed = seed })),
            "nes" => new Nes(Schedule(new NesOptions { Epsilon = eps, Seed = seed })),
            _ => throw new ArgumentOutOfRangeException(nameof(Attack), Attack, $"Recorded attacks are {string.Join(", ", Types)}."),
        };
    }

    // This setting's steps and step size where it gives them, else the options' own (RED-adv's 500 of 0.0005).
    private T Schedule<T>(T options) where T : ZerothOrderOptions =>
        (T)(options with { Steps = Steps ?? options.Steps, StepSize = StepSize ?? options.StepSize });

    private static double Px(double pixels) => pixels / 255;

    /// <summary>
    /// RED-adv's l-inf set (27 settings): FGSM and PGD-10 at 4/8/12/16 /255 (PGD steps 0.5/1/2/2 /255), CW-l2 at c 0.1, 1,
    /// 10 (50 steps, kappa 0), AutoAttack (the standard set), Square (5,000 queries), ZO-signSGD and NES (500 steps)
    /// at 4/8/12/16 /255.
    /// </summary>
    public static IReadOnlyList<RecordedAttack> Full { get; } =
    [
        .. new[] { 4.0, 8, 12, 16 }.Select(e => new RecordedAttack("fgsm", Px(e))),
        .. new[] { (4.0, 0.5), (8, 1), (12, 2), (16, 2) }.Select(p => new RecordedAttack("pgd", Px(p.Item1), StepSize: Px(p.Item2))),
        .. new[] { 0.1, 1, 10 }.Select(c => new RecordedAttack("cw-l2", null, Constant: c)),
        .. new[] { 4.0, 8, 12, 16 }.Select(e => new RecordedAttack("autoattack", Px(e))),
        .. new[] { 4.0, 8, 12, 16 }.Select(e => new RecordedAttack("square", Px(e))),
        .. new[] { 4.0, 8, 12, 16 }.Select(e => new RecordedAttack("zo-signsgd", Px(e))),
        .. new[] { 4.0, 8, 12, 16 }.Select(e => new RecordedAttack("nes", Px(e))),
    ];

    /// <summary>
    /// The set reduced for two CPU cores (13 settings), keeping every attack type and the four budgets of FGSM and
    /// PGD (the cross-budget matrix): CW-l2 at c 1; AutoAttack, Square (1,000 queries), ZO-signSGD and NES (25 steps,
    /// 275 and 250 queries) at 8/255. Measured on 2 cores: at 100 steps the two query attacks took 75 to 100 s per ResNet-9
    /// victim on 50 images, 4 times everything else together, which put the 45-victim Latin fraction out of reach of one session.
    /// With fewer steps the step grows to keep the budget reachable: RED-adv's 500 steps of 0.0005 can travel 64/255, 25 of
    /// them only 3.2/255 (under half of 8/255; the first cpu run recorded 6 and 5 successful examples), so the cpu set
    /// steps eps/10 = 0.8/255, which 25 steps take 2.5 times across the budget (black-box-cifar10-cpu.md, 500 queries on a
    /// ResNet-18: robust accuracy 80 % at eps/10 against 96 % at 0.0005; at 2,000 queries 70 % against 82 %).
    /// </summary>
    public static IReadOnlyList<RecordedAttack> Cpu { get; } =
    [
        .. new[] { 4.0, 8, 12, 16 }.Select(e => new RecordedAttack("fgsm", Px(e))),
        .. new[] { (4.0, 0.5), (8, 1), (12, 2), (16, 2) }.Select(p => new RecordedAttack("pgd", Px(p.Item1), StepSize: Px(p.Item2))),
        new RecordedAttack("cw-l2", null, Constant: 1),
        new RecordedAttack("autoattack", Px(8)),
        new RecordedAttack("square", Px(8), Queries: 1000),
        new RecordedAttack("zo-signsgd", Px(8), StepSize: Px(0.8), Steps: 25),
        new RecordedAttack("nes", Px(8), StepSize: Px(0.8), Steps: 25),
    ];

    /// <summary>The preset called <paramref name="name"/> (<c>full</c> or <c>cpu</c>).</summary>
    public static IReadOnlyList<RecordedAttack> Preset(string name) => name switch
    {
        "full" => Full,
        "cpu" => Cpu,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "The attack sets are 'full' and 'cpu'."),
    };
}

/// <summary>
/// Attacks run one after another on what is still classified correctly, keeping the first success per image and the
/// clean image where all fail: the adversarial examples of an AutoAttack-style run (torchattacks' MultiAttack, which
/// RED-adv records), where the evaluator only reports accuracy.
/// </summary>
public sealed class AttackSequence : IAttack
{
    private readonly IReadOnlyList<IAttack> _attacks;

    /// <summary>The sequence of <paramref name="attacks"/> (one norm and budget).</summary>
    public AttackSequence(IReadOnlyList<IAttack> attacks)
    {
        ArgumentNullException.ThrowIfNull(attacks);
        if (attacks.Count == 0) throw new ArgumentException("The sequence needs at least one attack.", nameof(attacks));
        _attacks = attacks;
    }

    /// <inheritdoc />
    public string Name => "autoattack";

    /// <inheritdoc />
    public AttackOptions Options => _attacks[0].Options;

    /// <inheritdoc />
    public bool IsBlackBox => _attacks.All(a => a.IsBlackBox);

    /// <inheritdoc />
    public Norm Norm => _attacks[0].Norm;

    /// <inheritdoc />
    public double? Epsilon => _attacks[0].Epsilon;

    /// <inheritdoc />
    public Tensor Run(Classifier classifier, Tensor images, Tensor labels, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        using var scope = torch.NewDisposeScope();
        using var mode = classifier.EvalMode();
        var adversarial = images.detach().clone();
        var robust = classifier.Predict(images).eq(labels);
        using var no = false.ToScalar();
        foreach (var attack in _attacks)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var left = robust.nonzero().squeeze(1);
            if (left.numel() == 0) break;
            var attacked = attack.Run(classifier, images.index_select(0, left), labels.index_select(0, left), cancellationToken);
            var fooled = classifier.Predict(attacked).ne(labels.index_select(0, left));
            var fooledRows = fooled.nonzero().squeeze(1);
            var fooledImages = left.index_select(0, fooledRows);
            adversarial.index_copy_(0, fooledImages, attacked.index_select(0, fooledRows));
            robust.index_fill_(0, fooledImages, no);
        }
        return adversarial.MoveToOuterDisposeScope();
    }
}
