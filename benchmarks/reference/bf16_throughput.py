"""The PyTorch twin of `Robustness.Benchmarks bf16-worker`: input-gradient passes/s of a ResNet-18 w16 (random weights,
eval mode, no normalisation) on 128 random images in float32, in bfloat16 (weights and input cast, loss in float32) or
under CPU autocast to bfloat16, 10 timed steps after 2 untimed; the cosine similarity of the bf16 input gradient with
the same process's float32 one. Prints one JSON line.
Usage: /usr/bin/python3 bf16_throughput.py --dtype fp32|bf16|autocast --threads 2
"""
import argparse, contextlib, json, time

import torch
import torch.nn.functional as F

from torch_models import ResNet18

BATCH, STEPS, WIDTH = 128, 10, 16


def gradient(model, x, y, autocast):
    x = x.detach().requires_grad_(True)
    context = torch.autocast("cpu", dtype=torch.bfloat16) if autocast else contextlib.nullcontext()
    with context:
        logits = model(x)
    loss = F.cross_entropy(logits.float(), y, reduction="sum")
    (g,) = torch.autograd.grad(loss, [x])
    return g


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dtype", choices=["fp32", "bf16", "autocast"], default="fp32")
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = ResNet18(10, WIDTH).eval()
    g = torch.Generator().manual_seed(0)
    x = torch.rand(BATCH, 3, 32, 32, generator=g)
    y = torch.randint(0, 10, (BATCH,), generator=g)
    reference = gradient(model, x, y, False)
    autocast = a.dtype == "autocast"
    if a.dtype == "bf16":
        model = model.to(torch.bfloat16)
        x = x.to(torch.bfloat16)
    for _ in range(2):
        gradient(model, x, y, autocast)
    t0 = time.perf_counter()
    for _ in range(STEPS):
        gradient(model, x, y, autocast)
    seconds = time.perf_counter() - t0
    last = gradient(model, x, y, autocast).float().flatten()
    cosine = F.cosine_similarity(last, reference.flatten(), dim=0).item()
    print(json.dumps({
        "framework": "pytorch", "version": torch.__version__, "dtype": a.dtype, "batch": BATCH, "steps": STEPS,
        "threads": torch.get_num_threads(), "seconds": seconds, "passes_per_second": BATCH * STEPS / seconds, "cosine_to_fp32": cosine,
    }))


if __name__ == "__main__":
    main()
