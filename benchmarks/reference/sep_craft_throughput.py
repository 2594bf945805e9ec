"""SEP crafting throughput of a PyTorch baseline, the twin of `Robustness.Benchmarks sep-craft-worker`.

Reads what the C# side wrote into the work folder:
  sep-craft.json            the run: checkpoint files (ascending epoch), iterations T, eps and step in 1/255 levels
  checkpoints/epoch-*.safetensors   Classifier.Save files (torch_models names, CIFAR-10 normalisation in metadata)
  images.safetensors        `images` float32 NCHW in [0,1] (exact k/255 values) and `labels` int64
then crafts SEP (Chen et al., ICLR 2023) exactly as ../shared/reference/SEP.md states it: target t = (y + C/2) mod C,
no random start, models in eval mode, T iterations of
    g = (1/K) sum_k grad_x CE(f_k(x), t)              (the mean of the checkpoints' input gradients)
    x = clip01(clip_to_ball(x0, eps)(x - step * sign(g)))
and stores clean + clamp(round((x - x0) * 255), -levels, levels) as uint8 (rounded, the bound exact).
One untimed warm-up batch with T = 1; the timed work is crafting + quantising every batch.
Writes the protected bytes (N*C*H*W, NCHW order) to --out and prints one JSON line.
Usage: /usr/bin/python3 sep_craft_throughput.py --work DIR --batch 128 --threads 2 --out pytorch.bin [--device cuda]
"""
import argparse, json, os, resource, time

import torch
import torch.nn as nn
import torch.nn.functional as F

from make_resnet18_fixture import read_safetensors
from torch_models import build


class Normalised(nn.Module):
    def __init__(self, net, mean, std):
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x):
        return self.net((x - self.mean) / self.std)


def load_classifier(path):
    state, metadata = read_safetensors(path)
    net = build(metadata["robustness.architecture"], int(metadata["robustness.classes"]), int(metadata["robustness.width"]))
    net.load_state_dict(state, strict=True)  # strict: the C# names and shapes must be PyTorch's
    model = Normalised(net, json.loads(metadata["robustness.mean"]), json.loads(metadata["robustness.std"]))
    return model.eval()


def sep_gradient(models, x, target):
    """The mean over checkpoints of grad_x CE(f_k(x), t), CE summed over the batch (each image its own gradient), as the C# side."""
    total = None
    for model in models:
        x_k = x.detach().requires_grad_(True)
        loss = F.cross_entropy(model(x_k), target, reduction="sum")
        (g,) = torch.autograd.grad(loss, [x_k])
        total = g if total is None else total + g
    return total / len(models)


def craft(models, x0, y, classes, eps, step, iterations):
    target = (y + classes // 2) % classes
    x = x0.clone()
    for _ in range(iterations):
        g = sep_gradient(models, x, target)
        with torch.no_grad():
            x = x - step * g.sign()
            x = torch.min(torch.max(x, x0 - eps), x0 + eps).clamp_(0, 1)
    return x


def quantise(x0, x, levels):
    clean = (x0 * 255).round()
    delta = ((x * 255).round() - clean).clamp_(-levels, levels)
    return (clean + delta).clamp_(0, 255).to(torch.uint8)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--work", required=True)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", required=True)
    p.add_argument("--device", default="cpu")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    with open(os.path.join(a.work, "sep-craft.json")) as f:
        run = json.load(f)
    models = [load_classifier(os.path.join(a.work, name)).to(a.device) for name in run["checkpoint_files"]]
    classes = int(run["classes"])
    levels, iterations = int(run["eps_levels"]), int(run["iterations"])
    eps, step = levels / 255, float(run["step_levels"]) / 255
    data, _ = read_safetensors(os.path.join(a.work, "images.safetensors"))
    images, labels = data["images"].to(a.device), data["labels"].to(a.device)
    n = images.shape[0]

    craft(models, images[:min(a.batch, n)], labels[:min(a.batch, n)], classes, eps, step, 1)  # warm-up
    out = torch.empty(images.shape, dtype=torch.uint8)
    t0 = time.perf_counter()
    for s in range(0, n, a.batch):
        x0, y = images[s:s + a.batch], labels[s:s + a.batch]
        out[s:s + a.batch] = quantise(x0, craft(models, x0, y, classes, eps, step, iterations), levels).cpu()
    elapsed = time.perf_counter() - t0
    with open(a.out, "wb") as f:
        f.write(out.contiguous().numpy().tobytes())
    passes = n * len(models) * iterations
    print(json.dumps({
        "framework": "pytorch", "version": torch.__version__, "device": a.device, "images": n, "checkpoints": len(models),
        "iterations": iterations, "batch": a.batch, "threads": torch.get_num_threads(), "seconds": elapsed,
        "images_per_second": n / elapsed, "passes_per_second": passes / elapsed,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
