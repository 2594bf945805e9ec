namespace Robustness.Masks;

/// <summary>
/// A mask on a model, whatever it keeps (weights, channels, tokens, attention links): the one API every technique's
/// masks share. <see cref="Apply"/> makes the model compute as the masked one in place, at its full size (what training
/// under the mask needs); <see cref="Materialise"/> makes a new model that carries the mask out for real, smaller where
/// the target allows it (sliced channels, removed tokens), so that its cost card measures what the mask saves;
/// <see cref="Report"/> says what is kept.
/// </summary>
public interface IModelMask
{
    /// <summary>What the mask acts on.</summary>
    MaskTarget Target { get; }

    /// <summary>Kept and total entries, part by part, for <paramref name="classifier"/>.</summary>
    MaskReport Report(Classifier classifier);

    /// <summary>Makes <paramref name="classifier"/> compute as the masked model, in place and at its full size.</summary>
    void Apply(Classifier classifier);

    /// <summary>A new classifier that carries the mask out (the caller owns it); <paramref name="classifier"/> is unchanged.</summary>
    Classifier Materialise(Classifier classifier);
}
