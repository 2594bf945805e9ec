using Robustness.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Attacks.Evaluation;

/// <summary>
/// How an attack did on one batch, judged the same way by every evaluator: an image counts as broken only when its
/// adversarial version is misclassified AND lies in [0,1] without NaNs AND within the budget (plus a tolerance) in
/// the attack's norm. Attacks are trusted for nothing; a result outside the threat model does not count.
/// </summary>
public sealed class AdversarialVerdict
{
    private AdversarialVerdict(bool[] misclassified, bool[] valid, double[] norms, long nanValues, double? min, double? max)
    {
        Misclassified = misclassified;
        Valid = valid;
        Norms = norms;
        NanValues = nanValues;
        Min = min;
        Max = max;
    }

    /// <summary>Per image: the model's prediction on the adversarial differs from the label.</summary>
    public bool[] Misclassified { get; }

    /// <summary>Per image: the adversarial is in [0,1], free of NaNs and within the budget.</summary>
    public bool[] Valid { get; }

    /// <summary>Per image: ||x' - x|| in the norm, computed in float64 (NaN when x' holds NaNs).</summary>
    public double[] Norms { get; }

    /// <summary>NaN values in the whole adversarial batch.</summary>
    public long NanValues { get; }

    /// <summary>Smallest non-NaN value of the adversarial batch, null when there is none.</summary>
    public double? Min { get; }

    /// <summary>Largest non-NaN value of the adversarial batch, null when there is none.</summary>
    public double? Max { get; }

    /// <summary>Image <paramref name="i"/> was broken: misclassified by a valid adversarial.</summary>
    public bool Broken(int i) => Misclassified[i] && Valid[i];

    /// <summary>
    /// Judges <paramref name="adversarial"/> against <paramref name="clean"/>. <paramref name="epsilon"/> null means
    /// no budget (a minimum-norm attack): only range and NaNs are checked.
    /// </summary>
    public static AdversarialVerdict Judge(Classifier classifier, Tensor clean, Tensor adversarial, Tensor labels,
        Norm norm, double? epsilon, double tolerance)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        int n = (int)clean.shape[0];
        var adv = adversarial.to(clean.device);
        var nan = adv.isnan();
        var nanPerImage = nan.flatten(1).any(1);
        var flat = adv.flatten(1);
        // NaN compares false, so a NaN image fails the range check as well.
        var inRange = flat.ge(Scalars.Zero).all(1).logical_and(flat.le(Scalars.One).all(1));
        var norms = AttackMath.PerSampleNorm(adv.to(ScalarType.Float64) - clean.to(ScalarType.Float64), norm);
        var valid = inRange.logical_and(nanPerImage.logical_not());
        if (epsilon is double eps)
        {
            using var limit = (eps + tolerance).ToScalar();
            valid = valid.logical_and(norms.le(limit));
        }
        var predictions = classifier.Forward(torch.nan_to_num(adv)).argmax(1);
        var misclassified = predictions.ne(labels.to(clean.device));

        long nanValues = nan.sum().item<long>();
        double? min = null, max = null;
        if (nanValues < adv.numel() && n > 0)
        {
            min = adv.masked_fill(nan, Scalars.PositiveInfinity).min().to(ScalarType.Float64).item<double>();
            max = adv.masked_fill(nan, Scalars.NegativeInfinity).max().to(ScalarType.Float64).item<double>();
        }
        return new AdversarialVerdict(
            misclassified.cpu().data<bool>().ToArray(),
            valid.cpu().data<bool>().ToArray(),
            norms.cpu().data<double>().ToArray(),
            nanValues, min, max);
    }
}
