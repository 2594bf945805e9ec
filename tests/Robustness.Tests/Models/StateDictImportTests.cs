using FluentAssertions;
using Robustness.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Robustness.Tests.Models;

/// <summary>
/// Bringing a PyTorch model: torch.save files (written by Debian's PyTorch 1.13 through
/// benchmarks/reference/make_import_fixtures.py) and safetensors state dicts load into zoo networks and give
/// PyTorch's logits; checkpoints and DataParallel names unwrap; what cannot load says why.
/// </summary>
public class StateDictImportTests
{
    private static readonly ModelSpec ResNet = new("resnet18", Classes: 10, Width: 16, ImageSize: 32);
    private static readonly ModelSpec Vit = new("vit", Classes: 10, Width: 48, Depth: 3, ImageSize: 32)
    {
        Parameters = ModelParameters.Empty.With("heads", 3),
    };

    [Theory]
    [InlineData("resnet18_w16.pth", "resnet18_w16_io.safetensors", WeightsFormat.TorchZip)]
    [InlineData("resnet18_w16.safetensors", "resnet18_w16_io.safetensors", WeightsFormat.Safetensors)]
    [InlineData("vit_w48_d3.pth", "vit_w48_d3_io.safetensors", WeightsFormat.TorchZip)]
    public void A_PyTorch_state_dict_becomes_a_classifier_with_PyTorchs_logits(string weights, string io, WeightsFormat format)
    {
        using var scope = torch.NewDisposeScope();
        string path = ModelTestSupport.Fixture(weights);
        var spec = weights.StartsWith("vit", StringComparison.Ordinal) ? Vit : ResNet;
        // The ViT fixture normalises nothing; the ResNet one normalised with CIFAR-10 statistics inside its forward.
        var normalization = spec == Vit ? Normalization.Identity() : Normalization.Cifar10;
        var (expected, _) = SafeTensors.Load(ModelTestSupport.Fixture(io));
        var stateDict = StateDictFile.Read(path);

        using var classifier = Classifier.FromStateDict(stateDict, spec, normalization, source: path);

        StateDictFile.Format(path).Should().Be(format);
        classifier.IsTraining.Should().BeFalse("an imported model is ready to evaluate");
        double difference = (classifier.Forward(expected["input"]) - expected["logits"]).abs().max().item<float>();
        difference.Should().BeLessThan(1e-4);
        foreach (var t in stateDict.Values.Concat(expected.Values)) t.Dispose();
    }

    [Fact]
    public void LoadWeights_reads_torch_save_files_too()
    {
        using var scope = torch.NewDisposeScope();
        using var fromPth = Classifier.Create(ResNet, Normalization.Cifar10, seed: 1);
        using var fromSafetensors = Classifier.Create(ResNet, Normalization.Cifar10, seed: 2);

        fromPth.LoadWeights(ModelTestSupport.Fixture("resnet18_w16.pth"));
        fromSafetensors.LoadWeights(ModelTestSupport.Fixture("resnet18_w16.safetensors"));

        foreach (var (name, tensor) in fromPth.Network.state_dict())
            tensor.eq(fromSafetensors.Network.state_dict()[name]).all().item<bool>().Should().BeTrue(name);
    }

    [Fact]
    public void A_training_checkpoint_unwraps_its_state_dict_and_DataParallel_prefix()
    {
        var tensors = StateDictFile.Read(ModelTestSupport.Fixture("checkpoint_nested.pth"));
        try
        {
            tensors.Keys.Should().BeEquivalentTo("conv.weight", "conv.bias", "bn.num_batches_tracked");
            tensors["conv.weight"].shape.Should().Equal(4, 3, 3, 3);
            tensors["conv.bias"].data<float>().ToArray().Should().Equal([0.2860356569290161f, -0.29471397399902344f, 0.8753033876419067f, -1.22428297996521f]);
            tensors["bn.num_batches_tracked"].dtype.Should().Be(ScalarType.Int64);
            tensors["bn.num_batches_tracked"].item<long>().Should().Be(5);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    [Fact]
    public void A_key_that_is_not_in_the_checkpoint_lists_the_keys_there_are()
    {
        var act = () => StateDictFile.Read(ModelTestSupport.Fixture("checkpoint_nested.pth"), key: "ema_state");

        act.Should().Throw<ArgumentException>().WithMessage("*no dictionary of tensors under 'ema_state'*epoch, optimizer, state_dict*")
            .And.ParamName.Should().Be("key");
    }

    [Theory]
    [InlineData("legacy.pth", "*legacy*non-zip*re-save*")]
    [InlineData("whole_module.pth", "*entire model*state_dict*")]
    [InlineData("macs_pytorch_profiler.json", "*neither a safetensors file nor a PyTorch torch.save file*")]
    public void Files_that_are_not_a_readable_state_dict_say_what_to_do(string name, string message)
    {
        var act = () => StateDictFile.Read(ModelTestSupport.Fixture(name));

        act.Should().Throw<InvalidDataException>().WithMessage(message);
    }

    [Fact]
    public void Weights_of_another_width_list_every_mis_shaped_tensor_and_load_nothing()
    {
        using var scope = torch.NewDisposeScope();
        var stateDict = StateDictFile.Read(ModelTestSupport.Fixture("resnet18_w16.pth"));
        using var wider = Classifier.Create(ResNet with { Width = 32 }, Normalization.Cifar10, seed: 3);
        var before = wider.Network.state_dict()["conv1.weight"].clone();

        var act = () => wider.LoadStateDict(stateDict, "resnet18_w16.pth");

        var thrown = act.Should().Throw<StateDictMismatchException>().WithMessage("'resnet18_w16.pth' does not fit resnet18 (width 32, 10 classes):*mis-shaped [*").Which;
        thrown.Missing.Should().BeEmpty();
        thrown.Unexpected.Should().BeEmpty();
        thrown.MisShaped.Should().Contain(m => m.Name == "conv1.weight" && m.InFile.SequenceEqual(new long[] { 16, 3, 3, 3 }) && m.Expected.SequenceEqual(new long[] { 32, 3, 3, 3 }));
        thrown.MisShaped.Count.Should().BeGreaterThan(StateDictMismatchException.ListedPerKind);
        thrown.Message.Should().Contain($"and {thrown.MisShaped.Count - StateDictMismatchException.ListedPerKind} more");
        wider.Network.state_dict()["conv1.weight"].eq(before).all().item<bool>().Should().BeTrue("nothing is copied unless everything fits");
        foreach (var t in stateDict.Values) t.Dispose();
    }

    [Fact]
    public void Any_TorchSharp_module_can_be_wrapped_and_attacked()
    {
        using var scope = torch.NewDisposeScope();
        torch.random.manual_seed(0);
        var network = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 4));
        using var classifier = Classifier.Wrap(network, classes: 4, Normalization.Identity(), imageSize: 8);
        var images = torch.rand([6, 3, 8, 8], generator: new Generator(1));
        var labels = classifier.Predict(images);

        var adversarial = new global::Robustness.Attacks.Fgsm(new global::Robustness.Attacks.FgsmOptions { Epsilon = 8 / 255.0 }).Run(classifier, images, labels);

        classifier.Spec.Architecture.Should().Be("custom:Sequential");
        classifier.Forward(images).shape.Should().Equal(6, 4);
        (adversarial - images).abs().max().item<float>().Should().BeLessThanOrEqualTo(8 / 255f + 1e-6f);
        var clone = () => classifier.Clone();
        clone.Should().Throw<NotSupportedException>();
    }
}
