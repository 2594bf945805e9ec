#!/usr/bin/python3
"""Multiply-accumulates of the zoo's ResNet-18 and ViT counted by PyTorch's own profiler (an independent check of
Robustness' MacCounter and the ViT's attention term, which count with forward hooks and a formula).

    /usr/bin/python3 benchmarks/reference/count_macs_profiler.py

torch.profiler with with_flops=True estimates the FLOPs of each aten operator from its input shapes; a
multiply-accumulate is two FLOPs. Only the operators with a weight or a matrix product are kept (conv2d, addmm, mm,
bmm, matmul), as in fvcore/thop and in Robustness' convention: batch norm, activations, additions and softmax are not
counted. Writes tests/Robustness.Tests/Models/Fixtures/macs_pytorch_profiler.json with, per model, the MACs and the
share of each operator, and the PyTorch version that counted them.
"""
import json
import os
import sys

import torch
from torch.profiler import ProfilerActivity, profile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from torch_models import ResNet18  # noqa: E402
import make_vit_fixture as vit  # noqa: E402

OUT = os.path.join(HERE, "..", "..", "tests", "Robustness.Tests", "Models", "Fixtures", "macs_pytorch_profiler.json")
MATRIX_OPS = ("aten::conv2d", "aten::addmm", "aten::mm", "aten::bmm", "aten::matmul")


def macs(model, size=32):
    model.eval()
    with torch.no_grad(), profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
        model(torch.zeros(1, 3, size, size))
    by_op = {}
    for event in prof.key_averages():
        if event.key in MATRIX_OPS and event.flops:
            by_op[event.key] = by_op.get(event.key, 0) + event.flops // 2
    return {"macs": sum(by_op.values()), "by_op": by_op}


def main():
    models = {
        # name: (architecture, width, depth, heads, model)
        "resnet18_w64": ({"architecture": "resnet18", "width": 64}, ResNet18(width=64)),
        "resnet18_w16": ({"architecture": "resnet18", "width": 16}, ResNet18(width=16)),
        "vit_w48_d3": ({"architecture": "vit", "width": 48, "depth": 3, "heads": 3}, vit.VisionTransformer(width=48, depth=3, heads=3)),
        "vit_w192_d6": ({"architecture": "vit", "width": 192, "depth": 6, "heads": 3}, vit.VisionTransformer(width=192, depth=6, heads=3)),
    }
    result = {"counter": f"torch.profiler with_flops (PyTorch {torch.__version__}), MACs = FLOPs / 2 of {', '.join(MATRIX_OPS)}",
              "models": {}}
    for name, (spec, model) in models.items():
        counted = macs(model)
        result["models"][name] = {**spec, **counted}
        print(f"{name}: {counted['macs']:,} MACs {counted['by_op']}")
    with open(OUT, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    print(f"wrote {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
