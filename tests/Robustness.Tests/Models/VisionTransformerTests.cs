using FluentAssertions;
using Robustness.Attacks;
using Robustness.Models;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Robustness.Tests.Models;

/// <summary>
/// The ViT: timm's names and arithmetic (fixtures written by benchmarks/reference/make_vit_fixture.py), its hooks
/// (token selection that removes tokens, attention-link masks, per-block outputs and exits) and its cost.
/// </summary>
public class VisionTransformerTests(ITestOutputHelper output)
{
    private static readonly ModelSpec FixtureSpec = new("vit", Classes: 10, Width: 48, Depth: 3, ImageSize: 32)
    {
        Parameters = ModelParameters.Empty.With("heads", 3),
    };

    private static readonly ModelSpec Small = new("vit", Classes: 10, Width: 24, Depth: 3, ImageSize: 16)
    {
        Parameters = ModelParameters.Empty.With("heads", 2),
    };

    [Fact]
    public void A_timm_layout_state_dict_from_PyTorch_loads_and_gives_PyTorchs_logits_and_MAC_count()
    {
        using var scope = torch.NewDisposeScope();
        var (io, metadata) = SafeTensors.Load(ModelTestSupport.Fixture("vit_w48_d3_io.safetensors"));
        using var classifier = Classifier.Create(FixtureSpec, seed: 0);
        var (weights, _) = SafeTensors.Load(ModelTestSupport.Fixture("vit_w48_d3.safetensors"));
        classifier.Network.state_dict().Keys.Should().BeEquivalentTo(weights.Keys, "the parameter names are timm's");

        classifier.LoadWeights(ModelTestSupport.Fixture("vit_w48_d3.safetensors"));
        classifier.Eval();
        double difference = (classifier.Forward(io["input"]) - io["logits"]).abs().max().item<float>();

        output.WriteLine($"max |logit difference| = {difference:g3}");
        difference.Should().BeLessThan(1e-4);
        classifier.Macs.Should().Be(long.Parse(metadata["macs"], System.Globalization.CultureInfo.InvariantCulture), "the PyTorch side counted the same");
        foreach (var t in weights.Values) t.Dispose();
    }

    [Fact]
    public void A_vit_saved_here_loads_in_PyTorch_with_the_same_logits()
    {
        if (!PyTorchInteropTests.TorchPythonAvailable())
        {
            output.WriteLine("/usr/bin/python3 with torch is not available; reverse check skipped.");
            return;
        }
        using var scope = torch.NewDisposeScope();
        using var folder = new TempFolder();
        using var classifier = Classifier.Create(FixtureSpec with { Width = 24 }, seed: 5);
        classifier.Eval();
        var input = torch.rand([3, 3, 32, 32], generator: new Generator(4));
        string weights = folder.File("vit.safetensors"), io = folder.File("io.safetensors");
        classifier.Save(weights);
        SafeTensors.Save(io, new Dictionary<string, Tensor> { ["input"] = input, ["logits"] = classifier.Forward(input) });

        var (exitCode, text) = PyTorchInteropTests.RunPython(Path.Combine(ModelTestSupport.RepositoryRoot, "benchmarks", "reference", "make_vit_fixture.py"), "verify", weights, io);

        output.WriteLine(text);
        exitCode.Should().Be(0, text);
    }

    [Fact]
    public void Token_selection_removes_tokens_and_lowers_the_cost()
    {
        using var scope = torch.NewDisposeScope();
        using var classifier = Classifier.Create(Small, seed: 1);
        classifier.Eval();
        var vit = (VisionTransformer)classifier.Network;
        var images = torch.rand([2, 3, 16, 16], generator: new Generator(2));
        long fullMacs = classifier.Macs;
        classifier.Forward(images);
        vit.LastTokenCounts.Should().Equal(17, 17, 17);

        vit.TokenSelector = new TopAttentionTokens(0.5, [1, 2]);
        var logits = classifier.Forward(images);

        logits.shape.Should().Equal(2, 10);
        vit.LastTokenCounts.Should().Equal([17, 9, 5], "half the patch tokens go before block 1, half of the rest before block 2");
        classifier.Macs.Should().BeLessThan(fullMacs);
        vit.TokenSelector = null;
    }

    [Fact]
    public void Per_block_outputs_exits_and_attention_maps_come_with_the_logits()
    {
        using var scope = torch.NewDisposeScope();
        using var classifier = Classifier.Create(Small, seed: 3);
        classifier.Eval();
        var images = torch.rand([2, 3, 16, 16], generator: new Generator(5));

        var outputs = classifier.ForwardOutputs(images);

        outputs.Auxiliary.Keys.Should().BeEquivalentTo(((VisionTransformer)classifier.Network).AuxiliaryOutputNames);
        outputs.Auxiliary["hidden.1"].shape.Should().Equal(2, 17, 24);
        outputs.Auxiliary["cls_attention.0"].shape.Should().Equal(2, 2, 16);
        outputs.Auxiliary["exit.0"].shape.Should().Equal(2, 10);
        ModelTestSupport.Identical(outputs.Auxiliary["exit.2"], outputs.Logits).Should().BeTrue("the last exit is the classifier");
        ModelTestSupport.Identical(outputs.Logits, classifier.Forward(images)).Should().BeTrue();
        classifier.Features(images).shape.Should().Equal(2, 24);
    }

    [Fact]
    public void An_attention_link_mask_cuts_links()
    {
        using var scope = torch.NewDisposeScope();
        using var classifier = Classifier.Create(Small, seed: 4);
        classifier.Eval();
        var vit = (VisionTransformer)classifier.Network;
        var images = torch.rand([2, 3, 16, 16], generator: new Generator(6));
        var full = classifier.Forward(images);

        vit.AttentionLinks = new Links(n => torch.ones(n, n, ScalarType.Bool));
        ModelTestSupport.Identical(classifier.Forward(images), full).Should().BeTrue("keeping every link changes nothing");
        vit.AttentionLinks = new Links(n => torch.eye(n, dtype: ScalarType.Bool));
        ModelTestSupport.Identical(classifier.Forward(images), full).Should().BeFalse("each token sees only itself");
        vit.AttentionLinks = null;
    }

    [Fact]
    public void Bad_shapes_are_refused_by_name_and_attacks_run_on_it()
    {
        var badPatch = () => Classifier.Create(Small with { Parameters = ModelParameters.Empty.With("heads", 2).With("patch", 5) });
        badPatch.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("patch");
        var badHeads = () => Classifier.Create(Small with { Parameters = ModelParameters.Empty.With("heads", 5) });
        badHeads.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("heads");
        var unknown = () => Classifier.Create(Small with { Parameters = ModelParameters.Empty.With("kernel", 3) });
        unknown.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*kernel*");

        using var scope = torch.NewDisposeScope();
        using var classifier = Classifier.Create(Small, seed: 6);
        var images = torch.rand([4, 3, 16, 16], generator: new Generator(7));
        var labels = torch.tensor(new long[] { 0, 1, 2, 3 });
        var adversarial = new Pgd(new PgdOptions { Steps = 2, Seed = 1 }).Run(classifier, images, labels);
        (adversarial - images).abs().max().item<float>().Should().BeLessThanOrEqualTo((float)(8.0 / 255) + 1e-6f);
    }

    [Fact]
    public void The_default_vit_has_the_stated_size()
    {
        using var classifier = Classifier.Create(new ModelSpec("vit"));
        classifier.ParameterCount.Should().Be(2_693_578, "patch embedding 9,408 + tokens 12,672 + 6 blocks of 444,864 + norm 384 + head 1,930");
        ModelFamilyRegistry.BuiltIn.Get("vit").Description.Should().Contain("2,693,578");
    }

    private sealed class Links(Func<int, Tensor> mask) : IAttentionLinkMask
    {
        public Tensor? Mask(int block, int tokens) => mask(tokens);
    }
}
