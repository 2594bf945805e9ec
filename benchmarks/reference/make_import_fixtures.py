#!/usr/bin/python3
"""torch.save fixtures for `robustness import` and StateDictFile (tests/Robustness.Tests/Models/Fixtures/).

Regenerate with Debian's PyTorch 1.13 (NOT the pyenv python3 on PATH, which has no torch), from the repository root:

    /usr/bin/python3 benchmarks/reference/make_import_fixtures.py

It reads the safetensors fixtures that make_resnet18_fixture.py and make_vit_fixture.py wrote and saves the same
state dicts the way PyTorch users do, so the C# side can check that both routes give PyTorch's logits:
  resnet18_w16.pth          torch.save(state_dict) of resnet18_w16.safetensors (zip format, PyTorch >= 1.6)
  vit_w48_d3.pth            the same for the ViT with timm names
  checkpoint_nested.pth     a training checkpoint {"epoch", "state_dict" (DataParallel "module." names), "optimizer"}
                            holding three small seeded tensors
  legacy.pth                a tiny state dict in the legacy (non-zip) format, which is refused with advice
  whole_module.pth          a pickled nn.Linear (the whole module, not its state dict), which is refused with advice
"""
import os
import sys
from collections import OrderedDict

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_resnet18_fixture import FIXTURE_DIR, read_safetensors  # noqa: E402


def main():
    for name in ("resnet18_w16", "vit_w48_d3"):
        state, _ = read_safetensors(os.path.join(FIXTURE_DIR, name + ".safetensors"))
        torch.save(OrderedDict(sorted(state.items())), os.path.join(FIXTURE_DIR, name + ".pth"))

    g = torch.Generator().manual_seed(11)
    nested = OrderedDict([
        ("module.conv.weight", torch.randn(4, 3, 3, 3, generator=g)),
        ("module.conv.bias", torch.randn(4, generator=g)),
        ("module.bn.num_batches_tracked", torch.tensor(5)),
    ])
    torch.save({"epoch": 7, "state_dict": nested, "optimizer": {"state": {}, "param_groups": [{"lr": 0.1}]}},
               os.path.join(FIXTURE_DIR, "checkpoint_nested.pth"))
    torch.save(OrderedDict([("w", torch.ones(2))]), os.path.join(FIXTURE_DIR, "legacy.pth"),
               _use_new_zipfile_serialization=False)
    torch.save(torch.nn.Linear(2, 2), os.path.join(FIXTURE_DIR, "whole_module.pth"))
    print("wrote the import fixtures to", os.path.normpath(FIXTURE_DIR))
    print("checkpoint_nested conv.bias:", nested["module.conv.bias"].tolist())


if __name__ == "__main__":
    main()
