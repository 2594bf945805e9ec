using TorchSharp;
using static TorchSharp.torch;

namespace Robustness.Attacks;

/// <summary>
/// The l2 Square Attack's perturbation shapes (Andriushchenko et al., 2020, section 4.2 and appendix): a square made of
/// two halves of opposite sign, each a "pseudo-Gaussian" stack of nested rectangles whose weight falls as
/// 1 / (ring + 1)^2 from the centre; unit l2 norm.
/// </summary>
internal static class SquarePatterns
{
    /// <summary>The s x s two-halves bump [s, s] (float32, CPU), unit l2 norm; <paramref name="transpose"/> swaps the halves' orientation.</summary>
    public static Tensor Bump(int s, bool transpose)
    {
        var values = new double[s, s];
        int top = s / 2;
        AddRectangles(values, 0, top, s, 1.0);
        AddRectangles(values, top, s - top, s, -1.0);
        Normalise(values);
        var flat = new float[s * s];
        for (int r = 0; r < s; r++)
            for (int c = 0; c < s; c++)
                flat[r * s + c] = (float)(transpose ? values[c, r] : values[r, c]);
        return torch.tensor(flat, [s, s]);
    }

    // Nested rectangles centred in the block of `rows` x `cols` starting at row `row0`: ring k spans
    // (2k + 1) x (2k + 1) cells around the centre and adds 1 / (k + 1)^2; the block is normalised to unit l2 norm.
    private static void AddRectangles(double[,] values, int row0, int rows, int cols, double sign)
    {
        if (rows <= 0 || cols <= 0) return;
        var block = new double[rows, cols];
        int centreRow = rows / 2, centreCol = cols / 2;
        for (int k = 0; k <= Math.Max(centreRow, centreCol); k++)
        {
            int r0 = Math.Max(centreRow - k, 0), r1 = Math.Min(centreRow - k + 2 * k + 1, rows);
            int c0 = Math.Max(centreCol - k, 0), c1 = Math.Min(centreCol - k + 2 * k + 1, cols);
            for (int r = r0; r < r1; r++)
                for (int c = c0; c < c1; c++)
                    block[r, c] += 1.0 / ((k + 1.0) * (k + 1.0));
        }
        Normalise(block);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                values[row0 + r, c] = sign * block[r, c];
    }

    private static void Normalise(double[,] values)
    {
        double sum = 0;
        foreach (double v in values) sum += v * v;
        if (sum <= 0) return;
        double norm = Math.Sqrt(sum);
        for (int r = 0; r < values.GetLength(0); r++)
            for (int c = 0; c < values.GetLength(1); c++)
                values[r, c] /= norm;
    }
}
