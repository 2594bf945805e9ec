using FluentAssertions;
using Robustness.Models;
using TorchSharp;
using Xunit;

namespace Robustness.Tests.Models;

public class SaveLoadTests
{
    [Theory]
    [MemberData(nameof(ModelTestSupport.Architectures), MemberType = typeof(ModelTestSupport))]
    public void Save_then_load_gives_bit_identical_logits_and_the_same_metadata(string architecture)
    {
        using var scope = torch.NewDisposeScope();
        using var folder = new TempFolder();
        var spec = ModelTestSupport.SmallSpecs[architecture];
        var normalization = spec.InputChannels == 3 ? Normalization.Cifar10 : new Normalization([0.1307f], [0.3081f]);
        string[] classNames = Enumerable.Range(0, spec.Classes).Select(i => $"class-{i}").ToArray();
        using var original = Classifier.Create(spec, normalization, classNames, seed: 5);
        ModelTestSupport.WarmUpBatchNorm(original);
        original.Eval();
        var images = ModelTestSupport.Images(spec);
        var expected = original.Forward(images);

        string path = folder.File($"{architecture}.safetensors");
        original.Save(path);
        using var loaded = Classifier.Load(path);

        loaded.Spec.Should().Be(spec);
        loaded.Normalization.Should().Be(normalization);
        loaded.ClassNames.Should().Equal(classNames);
        loaded.IsTraining.Should().BeFalse();
        loaded.Network.GetType().Should().Be(original.Network.GetType());
        ModelTestSupport.Identical(loaded.Forward(images), expected).Should().BeTrue();
        foreach (var (name, tensor) in original.Network.state_dict())
            ModelTestSupport.Identical(loaded.Network.state_dict()[name], tensor).Should().BeTrue($"'{name}' round-trips");
    }

    [Theory]
    [MemberData(nameof(ModelTestSupport.Architectures), MemberType = typeof(ModelTestSupport))]
    public void The_same_seed_gives_identical_weights_and_another_seed_different_ones(string architecture)
    {
        var spec = ModelTestSupport.SmallSpecs[architecture];
        using var a = Classifier.Create(spec, seed: 42);
        using var b = Classifier.Create(spec, seed: 42);
        using var c = Classifier.Create(spec, seed: 43);
        var sa = a.Network.state_dict();
        var sb = b.Network.state_dict();
        var sc = c.Network.state_dict();

        sa.Keys.Should().Equal(sb.Keys);
        foreach (var name in sa.Keys) ModelTestSupport.Identical(sa[name], sb[name]).Should().BeTrue($"'{name}' is seeded");
        sa.Where(p => p.Key.EndsWith(".weight") && p.Value.dim() > 1)
            .Should().OnlyContain(p => !ModelTestSupport.Identical(p.Value, sc[p.Key]), "another seed draws other weights");
    }

    [Fact]
    public async Task A_seed_fixes_the_weights_even_while_another_thread_draws_random_numbers()
    {
        var spec = ModelTestSupport.SmallSpecs["wide-resnet"];
        using var reference = Classifier.Create(spec, seed: 8);
        using var stop = new CancellationTokenSource();
        var noise = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var scope = torch.NewDisposeScope();
                torch.rand(1000);
            }
        });
        try
        {
            for (int i = 0; i < 5; i++)
            {
                using var again = Classifier.Create(spec, seed: 8);
                foreach (var (name, tensor) in reference.Network.state_dict())
                    ModelTestSupport.Identical(again.Network.state_dict()[name], tensor).Should().BeTrue($"'{name}' is seeded");
            }
        }
        finally
        {
            stop.Cancel();
            await noise;
        }
    }

    [Fact]
    public void Load_restores_a_model_saved_on_its_weights_only_by_LoadWeights()
    {
        using var folder = new TempFolder();
        var spec = ModelTestSupport.SmallSpecs["resnet18"];
        using var original = Classifier.Create(spec, seed: 3);
        string path = folder.File("r.safetensors");
        original.Save(path);

        using var target = Classifier.Create(spec, seed: 4);
        target.LoadWeights(path);

        foreach (var (name, tensor) in original.Network.state_dict())
            ModelTestSupport.Identical(target.Network.state_dict()[name], tensor).Should().BeTrue();
    }

    [Fact]
    public void Auxiliary_tensors_and_metadata_ride_along_and_loading_skips_them()
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        using var folder = new TempFolder();
        var spec = ModelTestSupport.SmallSpecs["small-cnn"];
        using var original = Classifier.Create(spec, seed: 3);
        string path = folder.File("aux.safetensors");
        using var extra = TorchSharp.torch.arange(5);
        original.Save(path, new Dictionary<string, TorchSharp.torch.Tensor> { [Classifier.AuxiliaryPrefix + "technique/x"] = extra },
            new Dictionary<string, string> { ["robustness.technique.note"] = "kept" });

        SafeTensors.ReadMetadata(path)["robustness.technique.note"].Should().Be("kept");
        SafeTensors.Load(path).Tensors.Should().ContainKey("aux/technique/x");
        using var loaded = Classifier.Load(path);
        using var images = ModelTestSupport.Images(spec);
        original.Eval();
        ModelTestSupport.Identical(loaded.Forward(images), original.Forward(images)).Should().BeTrue();

        FluentActions.Invoking(() => original.Save(path, new Dictionary<string, TorchSharp.torch.Tensor> { ["x"] = extra }, null))
            .Should().Throw<ArgumentException>().WithMessage("*aux/*");
        FluentActions.Invoking(() => original.Save(path, null, new Dictionary<string, string> { ["robustness.classes"] = "3" }))
            .Should().Throw<ArgumentException>().WithMessage("*classifier's own*");
    }
}
