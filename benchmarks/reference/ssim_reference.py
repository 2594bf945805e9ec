"""Reference SSIM and PSNR for tests/Robustness.Tests/Data/ImageQualityTests.cs, written independently with numpy.

SSIM as Wang et al.'s reference code computes it: 11x11 Gaussian window (sigma 1.5), 'valid' filtering, K1 = 0.01,
K2 = 0.03, L = 255, the mean of the map; per channel, averaged over channels. The images are the test's: a seeded
pseudo-random 3x16x20 image (a linear congruential generator both sides can reproduce) and a copy with a fixed
perturbation. Run: /usr/bin/python3 benchmarks/reference/ssim_reference.py (Debian's python3-numpy)
"""
import numpy as np


def lcg_bytes(n, seed):
    out, state = [], seed
    for _ in range(n):
        state = (1103515245 * state + 12345) % 2**31
        out.append((state >> 16) % 256)
    return np.array(out, dtype=np.float64)


def gaussian(size=11, sigma=1.5):
    ax = np.arange(size) - size // 2
    k = np.exp(-ax**2 / (2 * sigma**2))
    return k / k.sum()


def filter_valid(img, k):
    n = len(k)
    rows = np.array([[np.dot(k, img[r, c:c + n]) for c in range(img.shape[1] - n + 1)] for r in range(img.shape[0])])
    return np.array([[np.dot(k, rows[r:r + n, c]) for c in range(rows.shape[1])] for r in range(rows.shape[0] - n + 1)])


def ssim_channel(x, y):
    k, c1, c2 = gaussian(), (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mx, my = filter_valid(x, k), filter_valid(y, k)
    vx, vy, cxy = filter_valid(x * x, k) - mx**2, filter_valid(y * y, k) - my**2, filter_valid(x * y, k) - mx * my
    return np.mean((2 * mx * my + c1) * (2 * cxy + c2) / ((mx**2 + my**2 + c1) * (vx + vy + c2)))


c, h, w = 3, 16, 20
x = lcg_bytes(c * h * w, seed=42)
y = np.clip(x + (lcg_bytes(c * h * w, seed=7) % 17) - 8, 0, 255)
ssim = np.mean([ssim_channel(x[i * h * w:(i + 1) * h * w].reshape(h, w), y[i * h * w:(i + 1) * h * w].reshape(h, w)) for i in range(c)])
psnr = 10 * np.log10(255**2 / np.mean((x - y) ** 2))
print(f"ssim {ssim:.12f} psnr {psnr:.12f}")
