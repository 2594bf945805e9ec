"""Training throughput of a PyTorch baseline, the twin of `Robustness.Benchmarks training`.

Same work as the C# side: random uint8 images (seeded) converted to float [0,1] per batch, CIFAR-10 normalisation
inside the model, SGD (lr 0.1, momentum 0.9, weight decay 5e-4), cross-entropy, train mode, no augmentation.
Prints one JSON line per model: images/s over the timed batches, RSS before and after the timed batches, peak RSS.
Usage: /usr/bin/python3 train_throughput.py --arch small-cnn --width 32 --batch 128 --warmup 5 --batches 40 --threads 2
"""
import argparse, json, resource, time

import torch
import torch.nn as nn

from torch_models import build

MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)


def rss_mb():
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 2**20


class Normalised(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1))

    def forward(self, x):
        return self.net((x - self.mean) / self.std)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--arch", default="small-cnn")
    p.add_argument("--width", type=int, default=0)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--batches", type=int, default=40)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    model = Normalised(build(a.arch, 10, a.width)).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    loss_fn = nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(a.seed)
    pool = torch.randint(0, 256, (a.batch * 4, 3, 32, 32), dtype=torch.uint8, generator=g)
    labels = torch.randint(0, 10, (a.batch * 4,), generator=g)

    def step(i):
        start = (i % 4) * a.batch
        x = pool[start:start + a.batch].float().div_(255)
        y = labels[start:start + a.batch]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    for i in range(a.warmup):
        step(i)
    rss_before = rss_mb()
    t0 = time.perf_counter()
    for i in range(a.batches):
        loss = step(i)
    loss.item()
    elapsed = time.perf_counter() - t0
    rss_after = rss_mb()
    print(json.dumps({
        "framework": "pytorch", "version": torch.__version__, "arch": a.arch, "width": a.width, "batch": a.batch,
        "threads": torch.get_num_threads(), "timed_batches": a.batches,
        "images_per_second": a.batches * a.batch / elapsed,
        "rss_before_mb": rss_before, "rss_after_mb": rss_after,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "parameters": sum(p.numel() for p in model.parameters()),
    }))


if __name__ == "__main__":
    main()
