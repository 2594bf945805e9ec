namespace Robustness.Data;

/// <summary>
/// Sine and cosine from additions, multiplications and <see cref="Math.Round(double)"/> only. IEEE 754 makes those
/// exact and the same on every machine, while <see cref="Math.Sin"/> comes from the platform's C library and may
/// differ in the last bit, which after rounding to 8 bits could change a pixel. Accurate to about 1e-9.
/// </summary>
internal static class PortableMath
{
    private const double TwoPi = 2 * Math.PI;
    private const double HalfPi = Math.PI / 2;

    public static double Sin(double x)
    {
        double r = x - Math.Round(x / TwoPi) * TwoPi;      // [-pi, pi]
        if (r > HalfPi) r = Math.PI - r;                     // sin(pi - r) = sin(r): fold into [-pi/2, pi/2]
        else if (r < -HalfPi) r = -Math.PI - r;
        double r2 = r * r;
        // Taylor series to r^15; the first omitted term is below (pi/2)^17 / 17! < 6e-11.
        return r * (1 + r2 * (-1.0 / 6 + r2 * (1.0 / 120 + r2 * (-1.0 / 5040 + r2 * (1.0 / 362880
            + r2 * (-1.0 / 39916800 + r2 * (1.0 / 6227020800 + r2 * (-1.0 / 1307674368000))))))));
    }

    public static double Cos(double x) => Sin(x + HalfPi);
}
