using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Robustness.Hosting;
using Robustness.Models;
using Robustness.Pruning;
using Robustness.Training;
using TorchSharp;
using static TorchSharp.torch;
using Xunit;

namespace Robustness.Tests.Models;

/// <summary>
/// A family that is not built in (as a module would bring it) must build, save, load, clone, prune and report its
/// cost with no edit in the library; its own parameters travel in the model file.
/// </summary>
public class ModelFamilyTests
{
    private static ModelSpec TinySpec(int hidden = 4) =>
        new ModelSpec(TinyFamily.FamilyName, Classes: 10, InputChannels: 3, ImageSize: 8) { Parameters = ModelParameters.Empty.With("hidden", hidden) };

    [Fact]
    public void The_built_in_registry_holds_the_zoo_and_a_host_adds_a_module_family_without_touching_it()
    {
        ModelFamilyRegistry.BuiltIn.Names.Should().Equal("arch-spec", "lenet", "preact-resnet18", "resnet18", "small-cnn", "vgg11", "vgg16", "vit", "wide-resnet");
        var services = new ServiceCollection();
        services.AddRobustness().AddModelFamily(new TinyFamily());
        using var provider = services.BuildServiceProvider();
        var registry = provider.GetRequiredService<ModelFamilyRegistry>();
        registry.Names.Should().Contain(["resnet18", TinyFamily.FamilyName]);
        ModelFamilyRegistry.BuiltIn.TryGet(TinyFamily.FamilyName).Should().BeNull("registration is per host, never process-wide");
    }

    [Fact]
    public void A_module_family_saves_and_loads_with_its_own_parameters_through_the_hosts_registry()
    {
        using var scope = torch.NewDisposeScope();
        using var folder = new TempFolder();
        var registry = ModelFamilyRegistry.BuiltIn.With(new TinyFamily());
        using var original = Classifier.Create(TinySpec(hidden: 6), Normalization.Cifar10, families: registry, seed: 3);
        string path = Path.Combine(folder.Path, "tiny.safetensors");
        original.Save(path);

        using var loaded = Classifier.Load(path, families: registry);
        loaded.Spec.Should().Be(original.Spec, "the family's parameters are part of the spec saved in the file");
        loaded.Spec.Parameters.Get("hidden", 0).Should().Be(6);
        loaded.Family.Should().BeOfType<TinyFamily>();
        var images = torch.rand([2, 3, 8, 8], generator: new Generator(1));
        original.Eval();
        ModelTestSupport.Identical(loaded.Forward(images), original.Forward(images)).Should().BeTrue();

        var withoutModule = () => Classifier.Load(path);
        withoutModule.Should().Throw<InvalidDataException>().WithMessage($"*Unknown architecture '{TinyFamily.FamilyName}'*Known: *resnet18*");
    }

    [Fact]
    public void Cloning_and_in_memory_checkpoints_rebuild_through_the_classifiers_own_family()
    {
        using var scope = torch.NewDisposeScope();
        var registry = ModelFamilyRegistry.BuiltIn.With(new TinyFamily());
        using var original = Classifier.Create(TinySpec(), families: registry, seed: 4);
        var images = torch.rand([2, 3, 8, 8], generator: new Generator(2));
        using var copy = original.Clone();
        ModelTestSupport.Identical(copy.Forward(images), original.Forward(images)).Should().BeTrue();

        using var set = CheckpointSet.InMemory();
        set.Add(0, original);
        using var restored = set.Load(0);
        restored.Family.Should().BeOfType<TinyFamily>();
        original.Eval();
        ModelTestSupport.Identical(restored.Forward(images), original.Forward(images)).Should().BeTrue();
    }

    [Fact]
    public void A_disk_checkpoint_set_loads_the_module_networks_it_was_given()
    {
        using var scope = torch.NewDisposeScope();
        using var folder = new TempFolder();
        var registry = ModelFamilyRegistry.BuiltIn.With(new TinyFamily());
        using var original = Classifier.Create(TinySpec(), families: registry, seed: 4);
        using (var set = CheckpointSet.Create(folder.Path))
        {
            set.Add(0, original);
            using var sameProcess = set.Load(0);
            sameProcess.Family.Should().BeOfType<TinyFamily>("the set learnt the family from the network added to it");
        }
        using var reopened = CheckpointSet.Open(folder.Path, registry);
        using var loaded = reopened.Load(0);
        loaded.Spec.Should().Be(original.Spec);
    }

    [Fact]
    public void A_network_of_no_family_still_classifies_but_refuses_to_clone_with_a_clear_message()
    {
        using var scope = torch.NewDisposeScope();
        var spec = new ModelSpec("handmade", Classes: 10, ImageSize: 8);
        using var classifier = new Classifier(new TinyNetwork(4), spec, Normalization.Identity(3));
        classifier.Family.Should().BeNull();
        classifier.Forward(torch.rand([1, 3, 8, 8])).shape.Should().Equal(1, 10);
        var clone = () => classifier.Clone();
        clone.Should().Throw<NotSupportedException>().WithMessage("*no registered family ('handmade')*ModelFamily*");
        var layers = () => RepresentationLayer.Defaults(classifier);
        layers.Should().Throw<NotSupportedException>().WithMessage("*handmade*pass the layers explicitly*");
    }

    [Fact]
    public void The_family_decides_representation_layers_and_prunable_weights()
    {
        using var scope = torch.NewDisposeScope();
        var registry = ModelFamilyRegistry.BuiltIn.With(new TinyFamily());
        using var classifier = Classifier.Create(TinySpec(), families: registry, seed: 1);
        RepresentationLayer.Defaults(classifier).Select(l => l.Name).Should().Equal("conv.relu");
        PrunableParameters.Select(classifier).Select(p => p.Name).Should().Equal(["conv.weight"], "the family keeps its head dense");
        using var masks = MaskSet.ByMagnitude(classifier, 0.5);
        masks.Masks.Select(m => m.ParameterName).Should().Equal("conv.weight");
    }

    [Fact]
    public void Macs_are_counted_from_the_convolutions_and_linear_layers_of_one_forward_pass()
    {
        using var scope = torch.NewDisposeScope();
        var registry = ModelFamilyRegistry.BuiltIn.With(new TinyFamily());
        using var tiny = Classifier.Create(TinySpec(hidden: 4), families: registry);
        // conv 3->4, 3x3, padding 1 on 8x8: 8*8*4 outputs x 27 weights each; linear 4->10: 10 x 4.
        tiny.Macs.Should().Be(8 * 8 * 4 * 27 + 10 * 4);

        // CIFAR ResNet-18 by hand: stem 32*32*64*27; layer1 4 x 32*32*64*64*9; layers 2-4 each (by symmetry)
        // 16*16*128*64*9 + 3 x 16*16*128*128*9 + 16*16*128*64 (shortcut) = 134,217,728; head 512*10.
        using var resnet = Classifier.Create(new ModelSpec("resnet18"));
        resnet.Macs.Should().Be(1_769_472L + 4 * 37_748_736L + 3 * 134_217_728L + 5_120L);
        resnet.IsTraining.Should().BeTrue("counting runs in eval mode and restores the mode");
    }

    [Fact]
    public void A_multi_output_network_gives_its_auxiliary_outputs_and_its_logits_to_everyone_else()
    {
        using var scope = torch.NewDisposeScope();
        var spec = new ModelSpec("early-exit", Classes: 10, ImageSize: 8);
        using var classifier = new Classifier(new EarlyExitNetwork(), spec, Normalization.Identity(3));
        var images = torch.rand([2, 3, 8, 8], generator: new Generator(5));
        var outputs = classifier.ForwardOutputs(images);
        outputs.Auxiliary.Keys.Should().Equal("exit1");
        outputs.Auxiliary["exit1"].shape.Should().Equal(2, 10);
        ModelTestSupport.Identical(outputs.Logits, classifier.Forward(images)).Should().BeTrue("forward returns the final logits");

        using var plain = Classifier.Create(new ModelSpec("small-cnn", Width: 4, ImageSize: 8));
        plain.ForwardOutputs(images).Auxiliary.Should().BeEmpty();
    }

    [Fact]
    public void Model_parameters_compare_by_value_and_round_trip_through_json()
    {
        var a = ModelParameters.Empty.With("patch", 4).With("stages", new[] { 2, 2 });
        var b = ModelParameters.Parse("{ \"stages\": [2, 2], \"patch\": 4 }");
        b.Equals(a).Should().BeTrue();
        ModelParameters.Parse(a.ToJson()).Equals(a).Should().BeTrue();
        a.Get("patch", 0).Should().Be(4);
        a.Get("missing", 7).Should().Be(7);
        (new ModelSpec("x") { Parameters = a }).Should().Be(new ModelSpec("x") { Parameters = b });
        var bad = () => ModelParameters.FromJson([KeyValuePair.Create("p", "{not json")]);
        bad.Should().Throw<ArgumentException>().WithMessage("*'p'*not valid JSON*");
    }

    /// <summary>conv(3 -> hidden, 3x3) + ReLU + global pool + linear(hidden -> classes).</summary>
    private sealed class TinyNetwork : nn.Module<Tensor, Tensor>
    {
        private readonly TorchSharp.Modules.Conv2d conv;
        private readonly TorchSharp.Modules.ReLU relu;
        private readonly TorchSharp.Modules.Linear head;

        public TinyNetwork(int hidden, int classes = 10) : base(nameof(TinyNetwork))
        {
            conv = nn.Conv2d(3, hidden, 3, padding: 1);
            relu = nn.ReLU();
            head = nn.Linear(hidden, classes);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input)
        {
            using var scope = torch.NewDisposeScope();
            var features = relu.call(conv.call(input)).mean([2, 3]);
            return head.call(features).MoveToOuterDisposeScope();
        }
    }

    private sealed class TinyFamily : ModelFamily
    {
        public const string FamilyName = "test-tiny";
        public override string Name => FamilyName;
        public override string Description => "One conv and a linear head (tests).";
        public override nn.Module<Tensor, Tensor> Build(ModelSpec spec) => new TinyNetwork(spec.Parameters.Get("hidden", 4), spec.Classes);
        public override IReadOnlyList<RepresentationLayer> RepresentationLayers(nn.Module<Tensor, Tensor> network, ModelSpec spec) =>
            [new("conv.relu", "relu")];
        public override IReadOnlyList<PrunableParameter> PrunableParameters(nn.Module<Tensor, Tensor> network) =>
            base.PrunableParameters(network).Where(p => p.Name.StartsWith("conv.", StringComparison.Ordinal)).ToArray();
    }

    private sealed class EarlyExitNetwork : nn.Module<Tensor, Tensor>, IMultiOutputNetwork
    {
        private readonly TorchSharp.Modules.Linear exit1;
        private readonly TorchSharp.Modules.Linear final;

        public EarlyExitNetwork() : base(nameof(EarlyExitNetwork))
        {
            exit1 = nn.Linear(3, 10);
            final = nn.Linear(3, 10);
            RegisterComponents();
        }

        public IReadOnlyList<string> AuxiliaryOutputNames => ["exit1"];

        public override Tensor forward(Tensor input) => ForwardOutputs(input).Logits;

        public NetworkOutputs ForwardOutputs(Tensor normalisedInput)
        {
            var pooled = normalisedInput.mean([2, 3]);
            return new NetworkOutputs(final.call(pooled), new Dictionary<string, Tensor> { ["exit1"] = exit1.call(pooled) });
        }
    }
}
