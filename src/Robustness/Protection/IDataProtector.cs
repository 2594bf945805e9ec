using Robustness.Data;

namespace Robustness.Protection;

/// <summary>
/// A data-protection method: it changes every image of a labelled collection by an l-inf perturbation of at most
/// <see cref="Epsilon"/> (after quantisation to uint8) so that a model trained on the result generalises badly.
/// Protection runs in two stages because some methods need the whole clean collection first (class centres,
/// error-minimising noise): <see cref="Prepare"/> looks at the collection once, then the returned session protects
/// it batch by batch in any order (shards, resumed runs), each batch's bytes depending only on the images in it.
/// </summary>
public interface IDataProtector
{
    /// <summary>Catalogue name of the method (<c>sep</c>, <c>sep-fa</c>, <c>random</c>, ...).</summary>
    string Name { get; }

    /// <summary>The l-inf budget on the [0,1] scale; the stored delta is at most <see cref="ProtectionQuantizer.Levels"/> of it.</summary>
    double Epsilon { get; }

    /// <summary>
    /// Does the work that needs the whole clean collection (nothing for most methods) and returns a session that
    /// protects batches of it. <paramref name="clean"/> is the collection whose indices the batches refer to.
    /// </summary>
    IProtectionSession Prepare(IImageCollection clean, IProgress<ProtectionProgress>? progress = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// True when the sessions protect batches of any image size at that size (the collection given to
    /// <see cref="Prepare"/> then holds the images stretched to the model's working size). False (the default): every
    /// batch must have the collection's size.
    /// </summary>
    bool ProtectsAnySize => false;
}

/// <summary>A prepared protector: protects batches of the collection it was prepared on.</summary>
public interface IProtectionSession : IDisposable
{
    /// <summary>
    /// Protects one batch. <paramref name="batch"/> holds the clean images (float32 [N,C,H,W] in [0,1], exact
    /// multiples of 1/255; any height and width when the protector <see cref="IDataProtector.ProtectsAnySize"/>), their
    /// int64 labels and their indices in the prepared collection. Returns the protected
    /// images as a uint8 tensor [N,C,H,W] on the CPU, quantised with <see cref="ProtectionQuantizer"/> so that
    /// |protected - clean| &lt;= <see cref="ProtectionQuantizer.Levels"/> exactly. The result must depend only on the
    /// images in the batch, their indices and the seed (never on other batches or on the order batches come in).
    /// </summary>
    TorchSharp.torch.Tensor Protect(ImageBatch batch, CancellationToken cancellationToken = default);
}
