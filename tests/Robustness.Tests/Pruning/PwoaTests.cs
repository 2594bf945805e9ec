using FluentAssertions;
using Robustness.Data;
using Robustness.Models;
using Robustness.Pruning;
using Robustness.Tests.Models;
using TorchSharp;
using static TorchSharp.torch;
using Xunit;

namespace Robustness.Tests.Pruning;

/// <summary>PwoA end to end on a tiny network: exact sparsity, determinism, and only clean images ever reach a network.</summary>
public class PwoaTests
{
    private static readonly ModelSpec Spec = new("small-cnn", Classes: 4, Width: 4, ImageSize: 8);

    private static PwoaOptions Tiny(int seed = 1) => new()
    {
        Sparsity = 0.75,
        BatchSize = 16,
        AdmmEpochs = 2,
        Admm = new AdmmSchedule(InitialRho: 0.1, CycleEpochs: 1),
        RetrainEpochs = 1,
        ProgressInterval = 2,
        Seed = seed,
    };

    [Fact]
    public void Pruned_student_has_the_exact_sparsity_and_the_teacher_is_untouched()
    {
        var train = SyntheticImageSet.Generate(64, seed: 3, size: 8, classes: 4);
        using var teacher = Classifier.Create(Spec, seed: 2);
        using var before = teacher.Clone();
        bool teacherWasTraining = teacher.IsTraining;
        var reports = new List<PruningProgress>();
        var result = new Pwoa(Tiny()).Prune(teacher, train, new SyncProgress<PruningProgress>(reports.Add));
        using var student = result.Student;

        foreach (var layer in result.Sparsity.Layers)
            layer.Zeros.Should().Be(MagnitudeProjection.PrunedCount(layer.Total, 0.75), $"{layer.Name} is pruned exactly");
        result.Sparsity.CountedTensors.Should().Equal(PrunableParameters.Select(student).Select(p => p.Name));
        SparsityReport.Measure(student).Layers.Should().BeEquivalentTo(result.Sparsity.Layers, "the report measures the returned weights");

        result.History.Select(h => h.Phase).Should().Equal(PruningPhase.Admm, PruningPhase.Admm, PruningPhase.Retrain);
        result.History.Take(2).Select(h => h.Rho).Should().Equal(0.1, 0.1 * 1.35);
        result.History.Should().OnlyContain(h => double.IsFinite(h.Loss) && h.Distillation >= 0);
        result.History.Skip(2).Should().OnlyContain(h => h.Hsic != 0 && h.AdmmPenalty == 0, "HSIC is active in retraining only");
        result.Phases.Select(p => p.Phase).Should().Equal(PruningPhase.Admm, PruningPhase.HardPrune, PruningPhase.Retrain);
        reports.Should().NotBeEmpty();
        student.IsTraining.Should().BeFalse();

        teacher.IsTraining.Should().Be(teacherWasTraining, "the teacher's mode is restored");
        foreach (var ((name, a), (_, b)) in teacher.Network.state_dict().Zip(before.Network.state_dict()))
            ModelTestSupport.Identical(a, b).Should().BeTrue($"the teacher's {name} is unchanged");
    }

    [Fact]
    public void The_same_seed_gives_the_same_weights()
    {
        var train = SyntheticImageSet.Generate(64, seed: 3, size: 8, classes: 4);
        using var teacher = Classifier.Create(Spec, seed: 2);
        using var first = new Pwoa(Tiny(seed: 7)).Prune(teacher, train).Student;
        using var second = new Pwoa(Tiny(seed: 7)).Prune(teacher, train).Student;
        using var other = new Pwoa(Tiny(seed: 8)).Prune(teacher, train).Student;
        var a = first.Network.state_dict();
        var b = second.Network.state_dict();
        foreach (var (name, tensor) in a) ModelTestSupport.Identical(tensor, b[name]).Should().BeTrue($"{name} is reproducible");
        var c = other.Network.state_dict();
        a.Any(kv => !ModelTestSupport.Identical(kv.Value, c[kv.Key])).Should().BeTrue("another seed draws other batches");
    }

    [Fact]
    public void Only_clean_training_images_ever_enter_the_teacher_or_the_student()
    {
        // A zoo architecture that logs every input its network receives. If PwoA ran any attack (or perturbed its
        // inputs in any way), a logged input would differ from every training image or would require a gradient.
        var spec = Spec with { Architecture = RecordingNetwork.Architecture };
        var train = SyntheticImageSet.Generate(48, seed: 5, size: 8, classes: 4);
        using var teacher = Classifier.Create(spec, seed: 2, families: ModelFamilyRegistry.BuiltIn.With(RecordingNetwork.Family));
        int teacherId = ((RecordingNetwork)teacher.Network).Id;
        var options = Tiny() with
        {
            Augmentation = null,
            HsicInAdmm = true,
            RepresentationLayers = [new("relu4", "inner.features.relu4"), new("pooled", "inner.features.flatten")],
        };
        RecordingNetwork.Clear();
        var result = new Pwoa(options).Prune(teacher, train);
        using var student = result.Student;
        var log = RecordingNetwork.Drain();

        int steps = (options.AdmmEpochs + options.RetrainEpochs) * (train.Count / options.BatchSize);
        log.Count(e => e.NetworkId == teacherId).Should().Be(steps, "one teacher forward per step");
        log.Count(e => e.NetworkId != teacherId).Should().Be(steps, "one student forward per step: no attack iterations");
        log.Should().OnlyContain(e => !e.RequiredGrad, "no input is ever optimised");

        var trainingImages = new HashSet<string>(Enumerable.Range(0, train.Count).Select(i => Convert.ToBase64String(train.GetImage(i))));
        foreach (var entry in log)
        {
            using var scope = torch.NewDisposeScope();
            var bytes = entry.Images.mul(255).round();
            ModelTestSupport.Identical(bytes.div(255), entry.Images).Should().BeTrue("inputs are stored pixels / 255, unperturbed");
            var rows = bytes.to_type(ScalarType.Byte).flatten(1);
            for (int i = 0; i < rows.shape[0]; i++)
                trainingImages.Should().Contain(Convert.ToBase64String(rows[i].data<byte>().ToArray()));
            entry.Images.Dispose();
        }
    }

    /// <summary>A SmallCnn that records every input of its forward pass (a copy, detached from any scope).</summary>
    private sealed class RecordingNetwork : nn.Module<Tensor, Tensor>
    {
        public const string Architecture = "test-recording-cnn";
        private static readonly List<(int NetworkId, Tensor Images, bool RequiredGrad)> Log = [];
        private static int _nextId;
        private readonly SmallCnn inner;

        private RecordingNetwork(ModelSpec spec) : base(nameof(RecordingNetwork))
        {
            inner = new SmallCnn(spec.Classes, spec.Width, spec.InputChannels);
            Id = Interlocked.Increment(ref _nextId);
            RegisterComponents();
        }

        public int Id { get; }

        public static ModelFamily Family { get; } = new DelegateModelFamily(Architecture, "SmallCnn that logs its inputs (tests).", s => new RecordingNetwork(s), 4);

        public static void Clear()
        {
            lock (Log) { foreach (var e in Log) e.Images.Dispose(); Log.Clear(); }
        }

        public static List<(int NetworkId, Tensor Images, bool RequiredGrad)> Drain()
        {
            lock (Log) { var copy = Log.ToList(); Log.Clear(); return copy; }
        }

        public override Tensor forward(Tensor input)
        {
            lock (Log) Log.Add((Id, input.detach().clone().DetachFromDisposeScope(), input.requires_grad));
            return inner.forward(input);
        }
    }
}

/// <summary>The magnitude baselines through the same interface.</summary>
public class MagnitudePrunerTests
{
    [Fact]
    public void Naive_pruning_keeps_the_exact_sparsity_through_fine_tuning()
    {
        var train = SyntheticImageSet.Generate(48, seed: 3, size: 8, classes: 4);
        using var teacher = Classifier.Create(new ModelSpec("small-cnn", Classes: 4, Width: 4, ImageSize: 8), seed: 2);
        IPruner pruner = MagnitudePruner.Naive(new MagnitudePruningOptions { Sparsity = 0.875, BatchSize = 16, Epochs = 2, Seed = 1 });
        pruner.Name.Should().Be("magnitude");
        var result = pruner.Prune(teacher, train);
        using var student = result.Student;
        foreach (var layer in result.Sparsity.Layers) layer.Zeros.Should().Be(MagnitudeProjection.PrunedCount(layer.Total, 0.875), layer.Name);
        result.History.Should().HaveCount(2);
        MagnitudePruner.Adversarial().Name.Should().Be("adversarial");
    }
}
