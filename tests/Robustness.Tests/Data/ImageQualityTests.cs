using FluentAssertions;
using Robustness.Data;
using Xunit;

namespace Robustness.Tests.Data;

/// <summary>PSNR and SSIM of an 8-bit change, and their summary over a folder.</summary>
public sealed class ImageQualityTests
{
    // The generator of benchmarks/reference/ssim_reference.py, so both sides see the same pixels.
    private static byte[] Lcg(int n, long seed)
    {
        var bytes = new byte[n];
        long state = seed;
        for (int i = 0; i < n; i++)
        {
            state = (1103515245 * state + 12345) % (1L << 31);
            bytes[i] = (byte)((state >> 16) % 256);
        }
        return bytes;
    }

    [Fact]
    public void Match_an_independent_numpy_implementation()
    {
        const int c = 3, h = 16, w = 20;
        byte[] x = Lcg(c * h * w, 42), noise = Lcg(c * h * w, 7);
        byte[] y = x.Select((v, i) => (byte)Math.Clamp(v + noise[i] % 17 - 8, 0, 255)).ToArray();

        ImageQuality.Ssim(x, y, c, h, w).Should().BeApproximately(0.997841547561, 1e-9, "benchmarks/reference/ssim_reference.py");
        ImageQuality.Psnr(x, y).Should().BeApproximately(34.341149771761, 1e-9);
    }

    [Fact]
    public void A_change_of_one_level_everywhere_is_48_dB()
    {
        byte[] x = Enumerable.Repeat((byte)100, 300).ToArray(), y = Enumerable.Repeat((byte)101, 300).ToArray();
        ImageQuality.Psnr(x, y).Should().BeApproximately(20 * Math.Log10(255), 1e-12);
    }

    [Fact]
    public void Identical_images_have_no_finite_psnr_and_ssim_one()
    {
        byte[] x = Lcg(3 * 12 * 12, 1);
        ImageQuality.Psnr(x, x).Should().BeNull();
        ImageQuality.Ssim(x, x, 3, 12, 12).Should().BeApproximately(1, 1e-12);
    }

    [Fact]
    public void On_flat_images_ssim_is_the_luminance_term_alone()
    {
        // No variance: the structure term is C2/C2 = 1 and SSIM = (2ab + C1) / (a^2 + b^2 + C1).
        byte[] x = Enumerable.Repeat((byte)60, 16 * 16).ToArray(), y = Enumerable.Repeat((byte)90, 16 * 16).ToArray();
        double c1 = Math.Pow(0.01 * 255, 2);
        ImageQuality.Ssim(x, y, 1, 16, 16).Should().BeApproximately((2.0 * 60 * 90 + c1) / (60.0 * 60 + 90.0 * 90 + c1), 1e-12);
    }

    [Fact]
    public void Stronger_noise_is_less_similar_and_images_smaller_than_the_window_still_measure()
    {
        byte[] x = Lcg(3 * 8 * 8, 3), noise = Lcg(3 * 8 * 8, 4);
        double Similarity(int amplitude) => ImageQuality.Ssim(x, x.Select((v, i) => (byte)Math.Clamp(v + noise[i] % (2 * amplitude + 1) - amplitude, 0, 255)).ToArray(), 3, 8, 8);

        Similarity(2).Should().BeGreaterThan(Similarity(8)).And.BeGreaterThan(Similarity(32)).And.BeLessThan(1);
    }

    [Fact]
    public void Ssim_of_a_large_photo_needs_memory_for_a_few_rows_not_for_whole_planes()
    {
        const int height = 1500, width = 2000;   // 3 MP, one channel: whole double planes would be 24 MB each
        byte[] x = Lcg(height * width, 5), y = Lcg(height * width, 6);
        for (int i = 0; i < x.Length; i++) y[i] = (byte)Math.Clamp(x[i] + y[i] % 17 - 8, 0, 255);
        ImageQuality.Ssim(x.AsSpan(0, 64 * 64), y.AsSpan(0, 64 * 64), 1, 64, 64);   // JIT and static data first

        long before = GC.GetAllocatedBytesForCurrentThread();
        double ssim = ImageQuality.Ssim(x, y, 1, height, width);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        ssim.Should().BeInRange(0, 1);
        allocated.Should().BeLessThan(2L << 20, "a ring of 11 filtered rows per moment, whatever the photo's size");
    }

    [Fact]
    public void Bad_input_names_the_argument()
    {
        FluentActions.Invoking(() => ImageQuality.Psnr([1, 2], [1])).Should().Throw<ArgumentException>().WithParameterName("changed");
        FluentActions.Invoking(() => ImageQuality.Ssim([1, 2, 3], [1, 2, 3], 3, 1, 2)).Should().Throw<ArgumentException>().WithParameterName("original");
        FluentActions.Invoking(() => ImageQuality.Ssim([1], [1], 0, 1, 1)).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("channels");
    }

    [Fact]
    public void The_summary_gives_mean_minimum_and_the_5th_percentile_and_counts_unchanged_images()
    {
        var images = Enumerable.Range(1, 40).Select(i => ((double?)(30.0 + i), 0.9 + i / 1000.0)).Append((null, 1.0)).ToArray();

        var summary = QualitySummary.Of(images)!;

        summary.Images.Should().Be(41);
        summary.Unchanged.Should().Be(1);
        summary.MinPsnr.Should().Be(31);
        summary.Psnr5thPercentile.Should().Be(32, "nearest rank: the 2nd of 40 values");
        summary.MeanPsnr.Should().BeApproximately(50.5, 1e-12);
        summary.MinSsim.Should().BeApproximately(0.901, 1e-12);
        summary.Ssim5thPercentile.Should().BeApproximately(0.903, 1e-12, "the 3rd of 41 values");
        QualitySummary.Of([]).Should().BeNull();
        summary.ToString().Should().Contain("PSNR mean 50.50 dB").And.Contain("1 unchanged");
    }
}
