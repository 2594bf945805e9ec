using Robustness.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Tests.Attacks;

/// <summary>
/// Wraps a trained network and records every call: how many, how many images, and how many ran with gradients
/// possible (grad mode on, or an input that requires a gradient). A black-box attack must leave the last at zero:
/// without grad mode no graph exists, so nothing can ever flow backward through the network.
/// The inner network is not registered as a child, so nothing done to the wrapper (disposal, mode) reaches it.
/// </summary>
internal sealed class QueryCountingNetwork : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> _inner;

    public QueryCountingNetwork(nn.Module<Tensor, Tensor> inner) : base("query-counting") => _inner = inner;

    public int Calls { get; private set; }
    public long Images { get; private set; }
    public int CallsWithGradients { get; private set; }

    public override Tensor forward(Tensor input)
    {
        Calls++;
        Images += input.shape[0];
        if (torch.is_grad_enabled() || input.requires_grad) CallsWithGradients++;
        return _inner.forward(input);
    }

    /// <summary>A classifier over the wrapper with the same normalisation as <paramref name="model"/>.</summary>
    public static (Classifier Classifier, QueryCountingNetwork Probe) Around(Classifier model, int? classes = null, nn.Module<Tensor, Tensor>? network = null)
    {
        var probe = new QueryCountingNetwork(network ?? model.Network);
        var spec = model.Spec with { Classes = classes ?? model.Classes };
        return (new Classifier(probe, spec, model.Normalization), probe);
    }
}

/// <summary>The logits of the first <c>classes</c> classes of a trained network: a smaller classifier for class-count tests.</summary>
internal sealed class LeadingClassesNetwork : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> _inner;
    private readonly int _classes;

    public LeadingClassesNetwork(nn.Module<Tensor, Tensor> inner, int classes) : base("leading-classes")
    {
        _inner = inner;
        _classes = classes;
    }

    public override Tensor forward(Tensor input) => _inner.forward(input).narrow(1, 0, _classes);

    /// <summary>The images of <paramref name="fixture"/> whose label is below <paramref name="classes"/>, with their labels.</summary>
    public static (Tensor Images, Tensor Labels) ImagesOf(TrainedModelFixture fixture, int classes)
    {
        var keep = fixture.Labels.lt(classes).nonzero().squeeze(1);
        return (fixture.Images.index_select(0, keep), fixture.Labels.index_select(0, keep));
    }
}
