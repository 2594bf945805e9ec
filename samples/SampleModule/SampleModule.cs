using System.CommandLine;
using System.Globalization;
using Robustness;
using Robustness.Attacks;
using Robustness.Attacks.Evaluation;
using Robustness.Cli.Abstractions;
using Robustness.Data;
using Robustness.Hosting;
using Robustness.Models;
using Robustness.Validation;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Robustness.Samples.Module;

/// <summary>
/// A third party's module in one file: an attack (<see cref="UniformNoise"/>), a model family (<see cref="MlpFamily"/>)
/// and a command (<c>noise-robustness</c>), installed with one extension method on <c>AddRobustness()</c>. Nothing in
/// the library or the tool is edited: the catalogue, the model registry and the command tree pick them up.
/// </summary>
public static class SampleModuleRegistration
{
    /// <summary>Installs the sample module.</summary>
    public static RobustnessBuilder AddSampleModule(this RobustnessBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddModule("sample", "A third party's module: the uniform-noise attack, the mlp model family and the noise-robustness command.", module => module
            .AddTechnique(TechniqueFamily.Attacks, UniformNoise.Definition.Name, UniformNoise.Definition.Description, _ => UniformNoise.Definition)
            .AddModelFamily(new MlpFamily())
            .AddCommand(NoiseRobustnessCommand.Create));
    }
}

/// <summary>Options of <see cref="UniformNoise"/>: the budget, and how many random points are tried per image.</summary>
public sealed record UniformNoiseOptions : BoundedAttackOptions
{
    /// <summary>Random points drawn per image (>= 1); the first that fools the model is kept.</summary>
    public int Draws { get; init; } = 20;

    /// <inheritdoc />
    public override UniformNoiseOptions Validate()
    {
        base.Validate();
        Require.AtLeast(Draws, 1, nameof(Draws));
        return this;
    }
}

/// <summary>
/// Random noise inside the budget ball (uniform per pixel for l-inf; a random direction at a random radius for l2),
/// <see cref="UniformNoiseOptions.Draws"/> tries per image: the floor any real attack must beat, and a sanity check of
/// a robustness claim (a model that noise breaks more easily than PGD does is masking its gradients).
/// </summary>
public sealed class UniformNoise : Attack<UniformNoiseOptions>
{
    /// <summary>Creates the attack.</summary>
    public UniformNoise(UniformNoiseOptions? options = null) : base("uniform-noise", options ?? new UniformNoiseOptions()) { }

    /// <summary>The catalogue entry: reads Epsilon, Norm, Queries (as the draws) and Seed.</summary>
    public static AttackDefinition Definition { get; } = new(
        "uniform-noise", "Random noise in the budget ball, the first of N draws that fools (sample module)",
        [Norm.Linf, Norm.L2], IsBlackBox: true, IsMinimumNorm: false, SupportsTargets: false,
        s => new UniformNoise(new UniformNoiseOptions { Epsilon = s.EpsilonOrDefault, Norm = s.Norm, Draws = s.Queries ?? 20, Seed = s.Seed }))
    {
        Reads = [nameof(AttackSettings.Epsilon), nameof(AttackSettings.Norm), nameof(AttackSettings.Queries), nameof(AttackSettings.Seed)],
    };

    /// <inheritdoc />
    public override bool IsBlackBox => true;

    /// <inheritdoc />
    protected override Tensor Perturb(AttackContext context)
    {
        using var noGrad = torch.no_grad();
        var x = context.Images;
        var best = x.clone();
        var fooled = torch.zeros(x.shape[0], ScalarType.Bool, x.device);
        // Scalars made explicitly and disposed here (the README's "Temporary Scalars" rule, which modules follow too).
        using Scalar zero = 0.0.ToScalar(), one = 1.0.ToScalar();
        for (int draw = 0; draw < Options.Draws; draw++)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            using var scope = torch.NewDisposeScope();
            var candidate = (x + AttackMath.RandomInBall(x.shape, Options.Norm, Options.Epsilon, context.Generator, x.device)).clamp(zero, one);
            var now = context.Classifier.Forward(candidate).argmax(1).ne(context.Labels).logical_and(fooled.logical_not());
            best.copy_(torch.where(AttackMath.Broadcast(now, candidate), candidate, best));
            fooled.logical_or_(now);
        }
        return best;
    }
}

/// <summary>A two-layer perceptron on the flattened image: fc1, ReLU, fc2 (parameter names as PyTorch's).</summary>
public sealed class Mlp : Module<Tensor, Tensor>, IClassifierNetwork
{
    private readonly Linear fc1;
    private readonly Linear fc2;

    /// <summary>Creates the network for <paramref name="inputs"/> values per image.</summary>
    public Mlp(long inputs, int hidden, int classes) : base(nameof(Mlp))
    {
        fc1 = Linear(inputs, hidden);
        fc2 = Linear(hidden, classes);
        FeatureSize = hidden;
        RegisterComponents();
    }

    /// <inheritdoc />
    public int FeatureSize { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => Head(Features(input));

    /// <inheritdoc />
    public Tensor Features(Tensor normalisedInput) => functional.relu(fc1.call(normalisedInput.flatten(1)));

    /// <inheritdoc />
    public Tensor Head(Tensor features) => fc2.call(features);
}

/// <summary>
/// The <c>mlp</c> model family: hidden width from the spec's Width (0 = 256); no depth or widen factor. Saved models
/// record the family name, so <c>Classifier.Load</c> in a host with this module rebuilds them.
/// </summary>
public sealed class MlpFamily : ModelFamily
{
    /// <inheritdoc />
    public override string Name => "mlp";

    /// <inheritdoc />
    public override string Description => "Two-layer perceptron on the flattened image, hidden width = Width (256 by default) (sample module).";

    /// <inheritdoc />
    public override int StandardWidth => 256;

    /// <inheritdoc />
    public override Module<Tensor, Tensor> Build(ModelSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Depth != 0) throw new ArgumentOutOfRangeException(nameof(ModelSpec.Depth), spec.Depth, "mlp has no depth parameter; Depth must be 0.");
        if (spec.WidenFactor != 0) throw new ArgumentOutOfRangeException(nameof(ModelSpec.WidenFactor), spec.WidenFactor, "mlp has no widen factor.");
        return new Mlp((long)spec.InputChannels * spec.ImageSize * spec.ImageSize, spec.Width == 0 ? StandardWidth : spec.Width, spec.Classes);
    }
}

/// <summary><c>noise-robustness --model M --data DIR [--eps 4/255,8/255,16/255]</c>: accuracy under the sample's random noise at several budgets.</summary>
public static class NoiseRobustnessCommand
{
    /// <summary>The command, built from the host's catalogue and model registry.</summary>
    public static Command Create(CommandContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var model = new Option<string>("--model") { Description = "Model file (safetensors with Robustness metadata).", Required = true };
        var data = new Option<string>("--data") { Description = "Class-folder test images.", Required = true };
        var eps = new Option<string>("--eps") { Description = "Budgets, comma-separated (l-inf).", DefaultValueFactory = _ => "4/255,8/255,16/255" };
        var command = new Command("noise-robustness", "Accuracy under random noise in the l-inf ball at several budgets (sample module).") { model, data, eps };
        command.SetAction(parse =>
        {
            var budgets = parse.GetValue(eps)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(e => Budget.Parse(e, "--eps")).ToArray();
            using var classifier = Classifier.Load(parse.GetValue(model)!, families: context.Models);
            var images = ImageFolderReader.Read(parse.GetValue(data)!, new ImageFolderOptions { Size = SizePolicy.Resize(classifier.Spec.ImageSize, classifier.Spec.ImageSize) })
                .Images.AlignClasses(classifier.ClassNames);
            var definition = context.Catalog.Create(TechniqueFamily.Attacks, "uniform-noise");
            var report = new RobustnessEvaluation().Evaluate(classifier, images, [definition], new AttackSettings { Seed = 0 }, budgets);
            context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"clean accuracy {report.CleanAccuracy:P2} on {images.Count} images"));
            foreach (var entry in report.Entries)
                context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"eps {Budget.Format(entry.Epsilon ?? 0)}: accuracy {entry.RobustAccuracy:P2} under random noise"));
            return 0;
        });
        return command;
    }
}
