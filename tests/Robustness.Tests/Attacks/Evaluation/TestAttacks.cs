using Robustness.Attacks;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Tests.Attacks.Evaluation;

/// <summary>Options of the test-only PGD (FGSM when Steps = 1 and StepSize = Epsilon).</summary>
internal sealed record TestPgdOptions : BoundedAttackOptions
{
    public int Steps { get; init; } = 10;
    public double StepSize { get; init; } = 2.0 / 255.0;
    public bool RandomStart { get; init; }
}

/// <summary>
/// A small PGD on the attack contract, for testing the evaluators without the real attacks (written by others).
/// Without a random start it is deterministic and treats each image on its own.
/// </summary>
internal sealed class TestPgd : Attack<TestPgdOptions>
{
    public TestPgd(TestPgdOptions options, string name = "test-pgd") : base(name, options) { }

    public static TestPgd Fgsm(double epsilon = 8.0 / 255.0) =>
        new(new TestPgdOptions { Epsilon = epsilon, Steps = 1, StepSize = epsilon }, "test-fgsm");

    public static TestPgd Pgd(double epsilon = 8.0 / 255.0, int steps = 5, bool randomStart = false, int seed = 0) =>
        new(new TestPgdOptions { Epsilon = epsilon, Steps = steps, StepSize = epsilon / 4, RandomStart = randomStart, Seed = seed });

    public static AttackDefinition FgsmDefinition { get; } = new("test-fgsm", "test-only FGSM", [Norm.Linf, Norm.L2], false, false, false,
        s => new TestPgd(new TestPgdOptions { Epsilon = s.EpsilonOrDefault, Norm = s.Norm, Steps = 1, StepSize = s.EpsilonOrDefault, Seed = s.Seed }, "test-fgsm"));

    public static AttackDefinition PgdDefinition { get; } = new("test-pgd", "test-only PGD", [Norm.Linf, Norm.L2], false, false, false,
        s => new TestPgd(new TestPgdOptions
        {
            Epsilon = s.EpsilonOrDefault, Norm = s.Norm, Steps = s.Steps ?? 5, StepSize = s.StepSize ?? s.EpsilonOrDefault / 4, Seed = s.Seed,
        }));

    protected override Tensor Perturb(AttackContext context)
    {
        var o = Options;
        var x = context.Images;
        var current = x;
        if (o.RandomStart)
            current = (x + AttackMath.RandomInBall(x.shape, o.Norm, o.Epsilon, context.Generator, context.Device)).clamp(0f, 1f);
        for (int s = 0; s < o.Steps; s++)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            using var step = torch.NewDisposeScope();
            var gradient = AttackMath.InputGradient(context.Classifier, current, l => AttackMath.CrossEntropy(l, context.Labels));
            var moved = current + o.StepSize * AttackMath.SteepestDirection(gradient, o.Norm);
            current = (x + AttackMath.Project(moved - x, o.Norm, o.Epsilon)).clamp(0f, 1f).MoveToOuterDisposeScope();
        }
        return current;
    }
}

internal sealed record FakeOptions : AttackOptions;

/// <summary>
/// An attack that does whatever <c>run</c> says (an inner attack, the input, garbage) and claims whatever it is told,
/// recording every image it was given (as float arrays) and every image it returned.
/// </summary>
internal sealed class FakeAttack : IAttack
{
    private readonly Func<Classifier, Tensor, Tensor, Tensor> _run;

    public FakeAttack(string name, Func<Classifier, Tensor, Tensor, Tensor> run, bool blackBox = false, double? epsilon = 8.0 / 255.0, Norm norm = Norm.Linf)
    {
        Name = name;
        _run = run;
        IsBlackBox = blackBox;
        Epsilon = epsilon;
        Norm = norm;
    }

    /// <summary>Forwards to <paramref name="inner"/>, claiming its budget unless told otherwise.</summary>
    public static FakeAttack Wrapping(IAttack inner, string? name = null, bool blackBox = false, double? claimedEpsilon = null) =>
        new(name ?? inner.Name, (c, x, y) => inner.Run(c, x, y), blackBox, claimedEpsilon ?? inner.Epsilon, inner.Norm);

    /// <summary>Returns its input unchanged: breaks nothing.</summary>
    public static FakeAttack Identity(string name = "identity", bool blackBox = false) => new(name, (_, x, _) => x.clone(), blackBox);

    public string Name { get; }
    public AttackOptions Options { get; } = new FakeOptions();
    public bool IsBlackBox { get; }
    public Norm Norm { get; }
    public double? Epsilon { get; }

    public List<float[]> Inputs { get; } = [];
    public List<float[]> Outputs { get; } = [];
    public int Calls { get; private set; }

    public Tensor Run(Classifier classifier, Tensor images, Tensor labels, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Calls++;
        using var scope = torch.NewDisposeScope();
        var result = _run(classifier, images, labels);
        long n = images.shape[0];
        for (long i = 0; i < n; i++)
        {
            Inputs.Add(images[i].cpu().data<float>().ToArray());
            Outputs.Add(result[i].cpu().data<float>().ToArray());
        }
        return result.MoveToOuterDisposeScope();
    }

    public override string ToString() => Name;
}
