"""The convolution probes of `robustness doctor`'s self-check (src/Robustness/Runtime/KernelSelfCheck.cs), run on this
Python's PyTorch: conv2d forward and both backward passes at the channel counts that oneDNN serves with padded blocks,
each run 3 times from the same inputs, compared with each other (bytes) and with a float64 reference (ATen's own
kernels; oneDNN has no float64 convolution). Used by the sep-craft-ideas benchmark to tell whether the PyTorch baseline
computes the right numbers on this CPU under a given ONEDNN_MAX_CPU_ISA. Prints one JSON line:
{"passed": bool, "probes": n, "failures": ["..."], "version": "...", "isa": "..."}.
Usage: /usr/bin/python3 conv_self_check.py
"""
import json, math, os

import torch
import torch.nn.functional as F

BATCH, TOLERANCE, REPEATS = 128, 1e-4, 3
# (input channels, output channels, side, kernel, stride): the C# probe's shapes.
SHAPES = [(3, 4, 32, 3, 1), (4, 4, 32, 3, 1), (4, 8, 16, 3, 1), (8, 8, 16, 3, 1), (8, 16, 8, 3, 1), (3, 16, 32, 3, 1), (16, 16, 8, 3, 1),
          (2, 2, 16, 3, 1), (2, 4, 16, 3, 2), (2, 4, 16, 1, 2), (8, 16, 16, 3, 2), (8, 16, 16, 1, 2)]


def convolution(x, w, gy, stride):
    x = x.detach().requires_grad_()
    w = w.detach().requires_grad_()
    y = F.conv2d(x, w, stride=stride, padding=w.shape[-1] // 2)
    gx, gw = torch.autograd.grad([y], [x, w], [gy])
    return [y.detach(), gx, gw]


def main():
    torch.set_num_threads(2)
    g = torch.Generator().manual_seed(11)
    probes, failures = 0, []
    for cin, cout, side, kernel, stride in SHAPES:
        x = torch.randn(BATCH, cin, side, side, generator=g)
        w = torch.randn(cout, cin, kernel, kernel, generator=g) / math.sqrt(kernel * kernel * cin)
        out_side = (side + 2 * (kernel // 2) - kernel) // stride + 1
        gy = torch.randn(BATCH, cout, out_side, out_side, generator=g)
        reference = convolution(x.double(), w.double(), gy.double(), stride)
        runs = [convolution(x, w, gy, stride) for _ in range(REPEATS)]
        for i, name in enumerate(["forward", "backward (input)", "backward (weight)"]):
            probes += 1
            values = [r[i] for r in runs]
            finite = all(bool(torch.isfinite(v).all()) for v in values)
            repeatable = all(torch.equal(v, values[0]) for v in values[1:])
            error = float((values[0].double() - reference[i]).abs().max() / reference[i].abs().max()) if finite else float("nan")
            if not (finite and repeatable and error <= TOLERANCE):
                failures.append(f"conv2d {kernel}x{kernel} stride {stride} {name} N{BATCH} C{cin}->{cout} {side}x{side}: "
                                f"finite {finite}, repeatable {repeatable}, relative error {error:.3g}")
    print(json.dumps({"passed": not failures, "probes": probes, "failures": failures, "version": torch.__version__,
                      "isa": os.environ.get("ONEDNN_MAX_CPU_ISA", "default")}))


if __name__ == "__main__":
    main()
