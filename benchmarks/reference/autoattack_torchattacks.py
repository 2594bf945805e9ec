"""torchattacks' AutoAttack on the weights and images of `Robustness.Benchmarks autoattack`, the PyTorch side of issue 18's
AutoAttack comparison.

torchattacks is not packaged by Debian and must not be vendored: --torchattacks names a checkout of its source (e.g. the
v3.5.1 tag of github.com/Harry24k/adversarial-attacks-pytorch), which is put first on sys.path. Its own dependencies
here are Debian's python3-torch, python3-numpy and python3-scipy.

Reads from the work folder what the C# side wrote:
  model.safetensors    a Classifier.Save file (torch_models names; normalisation in the metadata, applied inside the model)
  images.safetensors   `images` float32 NCHW in [0,1] and `labels` int64
Two settings (--steps):
  shipped  torchattacks.AutoAttack(version="standard") as it ships: APGD-CE, APGD-T, FAB-T (multi-targeted) with
           torchattacks' default 10 steps, Square 5,000 queries;
  N        the same four attacks and options built the way AutoAttack builds them, with steps=N for APGD-CE, APGD-T and
           FAB-T (N = 100 is Croce and Hein's standard AutoAttack, which the C# evaluator runs).
The images go through in batches of --batch, each batch through all four attacks (torchattacks' MultiAttack: each attack
on the points the earlier ones left). Timed: everything after an untimed warm-up forward, and each attack's own forward. Writes one byte per image (1 =
still classified correctly after the attack) to --out and prints one JSON line.
Usage: /usr/bin/python3 autoattack_torchattacks.py --work DIR --torchattacks SRC --steps shipped|N --threads 2 --batch 250 --out flags.bin
"""
import argparse, json, os, resource, sys, time

import torch

from make_resnet18_fixture import read_safetensors
from sep_craft_throughput import load_classifier


def build_attack(torchattacks, model, eps, steps, seed):
    if steps == "shipped":
        return torchattacks.AutoAttack(model, norm="Linf", eps=eps, version="standard", n_classes=10, seed=seed)
    n = int(steps)
    attacks = [
        torchattacks.APGD(model, eps=eps, norm="Linf", steps=n, seed=seed, loss="ce", n_restarts=1),
        torchattacks.APGDT(model, eps=eps, norm="Linf", steps=n, seed=seed, n_classes=10, n_restarts=1),
        torchattacks.FAB(model, eps=eps, norm="Linf", steps=n, seed=seed, multi_targeted=True, n_classes=10, n_restarts=1),
        torchattacks.Square(model, eps=eps, norm="Linf", seed=seed, n_queries=5000, n_restarts=1),
    ]
    return torchattacks.MultiAttack(attacks)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--work", required=True)
    p.add_argument("--torchattacks", required=True, help="a checkout of torchattacks' source (the folder holding torchattacks/)")
    p.add_argument("--steps", default="shipped")
    p.add_argument("--eps", type=float, default=8 / 255)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=250)
    p.add_argument("--out", required=True)
    a = p.parse_args()

    sys.path.insert(0, os.path.abspath(a.torchattacks))
    import torchattacks  # noqa: E402 (from the given checkout, not an installed copy)

    torch.set_num_threads(a.threads)
    model = load_classifier(os.path.join(a.work, "model.safetensors"))
    data, _ = read_safetensors(os.path.join(a.work, "images.safetensors"))
    images, labels = data["images"], data["labels"]
    n = images.shape[0]
    attack = build_attack(torchattacks, model, a.eps, a.steps, a.seed)
    multi = attack._autoattack if a.steps == "shipped" else attack
    # MultiAttack counts the points each attack leaves when asked to accumulate (its save() does the same).
    multi._accumulate_multi_atk_records = True
    multi._multi_atk_records = [0.0] * (1 + len(multi.attacks))
    # Time spent inside each attack (MultiAttack calls attack(x, y), whose __call__ calls the instance's forward).
    attack_seconds = [0.0] * len(multi.attacks)
    for i, atk in enumerate(multi.attacks):
        def timed(*args, _forward=atk.forward, _i=i, **kwargs):
            started = time.perf_counter()
            try:
                return _forward(*args, **kwargs)
            finally:
                attack_seconds[_i] += time.perf_counter() - started
        atk.forward = timed

    with torch.no_grad():
        model(images[:a.batch])  # warm-up
        clean = torch.cat([model(images[s:s + a.batch]).argmax(1) for s in range(0, n, a.batch)]) == labels
    robust = torch.empty(n, dtype=torch.bool)
    max_linf, nan = 0.0, False
    t0 = time.perf_counter()
    for s in range(0, n, a.batch):
        x, y = images[s:s + a.batch], labels[s:s + a.batch]
        adv = attack(x, y)
        with torch.no_grad():
            robust[s:s + a.batch] = model(adv).argmax(1) == y
        max_linf = max(max_linf, (adv - x).abs().max().item())
        nan = nan or bool(torch.isnan(adv).any())
    elapsed = time.perf_counter() - t0
    with open(a.out, "wb") as f:
        f.write(robust.to(torch.uint8).numpy().tobytes())
    left = multi._multi_atk_records[1:]
    names = ["apgd-ce", "apgd-t", "fab-t", "square"]
    print(json.dumps({
        "framework": "torchattacks", "torchattacks_version": getattr(torchattacks, "__version__", "unknown"),
        "torch_version": torch.__version__, "steps": a.steps, "images": n, "batch": a.batch, "threads": torch.get_num_threads(),
        "seconds": elapsed, "seconds_per_1000_images": 1000 * elapsed / n,
        "clean_accuracy": clean.float().mean().item(), "robust_accuracy": robust.float().mean().item(),
        # MultiAttack stops early once a batch has no points left, so a later attack's count may be missing: it is 0.
        "robust_after": {names[i]: (left[i] if i < len(left) else 0.0) / n for i in range(len(names))},
        "attack_seconds": {names[i]: attack_seconds[i] for i in range(len(names))},
        "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA"),
        "max_linf": max_linf, "nan": nan,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
