"""PGD-10 throughput of a PyTorch baseline, the twin of `Robustness.Benchmarks pgd-worker`.

Loads the weights and images the C# side wrote (model.safetensors: torch_models.SmallCnn names and CIFAR-10
normalisation in its metadata; images.safetensors: float32 NCHW in [0,1] and int64 labels), then runs a plain PGD
(Madry et al. 2018): l-inf, eps 8/255, step 2/255, 10 steps, uniform random start (seeded here, so not the same
draws as the C# side), every step taken, the last iterate kept. One untimed warm-up batch; the timed work is the
attack plus the prediction on its output. Prints one JSON line: images/s and robust accuracy.
Usage: /usr/bin/python3 pgd_throughput.py --work DIR --batch 128 --threads 2
"""
import argparse, json, os, resource, time

import torch
import torch.nn as nn
import torch.nn.functional as F

from make_resnet18_fixture import read_safetensors
from torch_models import SmallCnn


class Normalised(nn.Module):
    def __init__(self, net, mean, std):
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x):
        return self.net((x - self.mean) / self.std)


def pgd(model, x, y, eps, alpha, steps, generator):
    adv = (x + torch.empty_like(x).uniform_(-eps, eps, generator=generator)).clamp_(0, 1)
    for _ in range(steps):
        adv.requires_grad_(True)
        loss = F.cross_entropy(model(adv), y, reduction="sum")
        (grad,) = torch.autograd.grad(loss, [adv])
        with torch.no_grad():
            adv = adv + alpha * grad.sign()
            adv = torch.min(torch.max(adv, x - eps), x + eps).clamp_(0, 1)
    return adv.detach()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--work", required=True)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    state, metadata = read_safetensors(os.path.join(a.work, "model.safetensors"))
    assert metadata.get("robustness.architecture") == "small-cnn", metadata
    net = SmallCnn(int(metadata["robustness.classes"]), int(metadata["robustness.width"]))
    net.load_state_dict(state, strict=True)  # strict: the C# names and shapes must be PyTorch's
    model = Normalised(net, json.loads(metadata["robustness.mean"]), json.loads(metadata["robustness.std"])).eval()
    data, _ = read_safetensors(os.path.join(a.work, "images.safetensors"))
    images, labels = data["images"], data["labels"]
    n = images.shape[0]
    eps, alpha, steps = 8 / 255, 2 / 255, 10
    g = torch.Generator().manual_seed(a.seed)

    def robust(start, count):
        x, y = images[start:start + count], labels[start:start + count]
        adv = pgd(model, x, y, eps, alpha, steps, g)
        with torch.no_grad():
            return (model(adv).argmax(1) == y).sum().item()

    robust(0, min(a.batch, n))  # warm-up
    t0 = time.perf_counter()
    correct = sum(robust(s, min(a.batch, n - s)) for s in range(0, n, a.batch))
    elapsed = time.perf_counter() - t0
    print(json.dumps({
        "framework": "pytorch", "version": torch.__version__, "images": n, "batch": a.batch,
        "threads": torch.get_num_threads(), "seconds": elapsed,
        "images_per_second": n / elapsed, "robust_accuracy": correct / n,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
