namespace Robustness.Data;

/// <summary>Per-channel statistics of an image collection, for choosing a model's input normalisation.</summary>
public static class ChannelStatistics
{
    /// <summary>
    /// The mean and standard deviation of each channel over every pixel of <paramref name="images"/>, on the
    /// [0,1] scale, as a <see cref="Normalization"/>. A channel with zero spread gets std 1.
    /// </summary>
    public static Normalization Of(IImageCollection images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0) throw new ArgumentException("Statistics need at least one image.", nameof(images));
        int c = images.Channels, plane = images.Height * images.Width;
        var sum = new double[c];
        var sumSq = new double[c];
        var buffer = new byte[c * plane];
        for (int i = 0; i < images.Count; i++)
        {
            images.CopyImage(i, buffer);
            for (int ch = 0; ch < c; ch++)
            {
                long s = 0, sq = 0;
                foreach (byte v in buffer.AsSpan(ch * plane, plane)) { s += v; sq += v * v; }
                sum[ch] += s;
                sumSq[ch] += sq;
            }
        }
        double n = (double)images.Count * plane;
        var mean = new float[c];
        var std = new float[c];
        for (int ch = 0; ch < c; ch++)
        {
            double m = sum[ch] / n / 255.0;
            double variance = Math.Max(0, sumSq[ch] / n / (255.0 * 255.0) - m * m);
            mean[ch] = (float)m;
            std[ch] = variance > 1e-12 ? (float)Math.Sqrt(variance) : 1f;
        }
        return new Normalization(mean, std);
    }
}
