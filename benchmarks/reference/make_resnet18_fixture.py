#!/usr/bin/python3
"""PyTorch reference for Robustness' CIFAR ResNet-18 (weight interoperability fixture and reverse check).

Regenerate the fixtures (Debian's PyTorch 1.13 + numpy; NOT the pyenv python3 on PATH, which has no torch):

    /usr/bin/python3 benchmarks/reference/make_resnet18_fixture.py

from the repository root. It writes, into tests/Robustness.Tests/Models/Fixtures/:
  resnet18_w16.safetensors     the state dict of a seeded width-16 ResNet-18 (BN running statistics made
                               non-trivial by a few train-mode forwards on random data), eval mode
  resnet18_w16_io.safetensors  `input` (4 seeded images, [4,3,32,32] float32 in [0,1]) and `logits` ([4,10]),
                               the logits PyTorch computed for that input in eval mode

Reverse check (used by the C# tests when /usr/bin/python3 has torch): read a ResNet-18 state dict written by
Robustness' Classifier.Save, run it on the `input` of an io file and compare with its `logits`:

    /usr/bin/python3 benchmarks/reference/make_resnet18_fixture.py verify WEIGHTS.safetensors IO.safetensors

Exit code 0 when the logits agree within 1e-4, 1 otherwise.

The model applies CIFAR-10 normalisation INSIDE forward (constants, not buffers, so the state dict holds only
the network's own tensors); the C# side builds its Classifier with Normalization.Cifar10 and feeds [0,1] images.
Safetensors are read and written by hand (the `safetensors` package is not needed): u64 little-endian header
length, a JSON header {name: {dtype, shape, data_offsets}} padded with spaces to 8 bytes, then raw
little-endian data.
"""
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_models import ResNet18  # noqa: E402  (the one PyTorch definition shared by the reference scripts)

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)

FIXTURE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                           "tests", "Robustness.Tests", "Models", "Fixtures")


class CifarResNet18(ResNet18):
    """torch_models.ResNet18 with CIFAR-10 normalisation inside forward (constants, not buffers)."""

    def __init__(self, width=64, classes=10):
        super().__init__(classes=classes, width=width)
        self.mean = torch.tensor(CIFAR10_MEAN, dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.tensor(CIFAR10_STD, dtype=torch.float32).view(1, 3, 1, 1)

    def forward(self, x):
        return super().forward((x - self.mean) / self.std)


DTYPES = {torch.float32: ("F32", "<f4"), torch.int64: ("I64", "<i8")}
NUMPY_DTYPES = {"F32": "<f4", "F64": "<f8", "I64": "<i8", "I32": "<i4"}


def write_safetensors(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = dict(metadata)
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        code, npdtype = DTYPES[t.dtype]
        data = t.numpy().astype(npdtype).tobytes()
        header[name] = {"dtype": code, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for blob in blobs:
            f.write(blob)


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = blob[8 + n:]
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype=NUMPY_DTYPES[entry["dtype"]]).reshape(entry["shape"])
        tensors[name] = torch.from_numpy(array.copy())
    return tensors, metadata


def make_fixtures():
    os.makedirs(FIXTURE_DIR, exist_ok=True)
    torch.manual_seed(20240601)
    model = CifarResNet18(width=16)
    # A few train-mode forwards so BN running statistics (and num_batches_tracked) are not the defaults.
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.rand(16, 3, 32, 32))
    model.eval()
    images = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        logits = model(images)
    state = model.state_dict()
    write_safetensors(os.path.join(FIXTURE_DIR, "resnet18_w16.safetensors"), state, {"format": "pt"})
    write_safetensors(os.path.join(FIXTURE_DIR, "resnet18_w16_io.safetensors"),
                      {"input": images, "logits": logits}, {"format": "pt"})
    params = sum(p.numel() for p in model.parameters())
    print(f"wrote {len(state)} tensors ({params} parameters) and io to {os.path.normpath(FIXTURE_DIR)}")
    print("logits[0]:", logits[0].tolist())


def verify(weights_path, io_path):
    state, metadata = read_safetensors(weights_path)
    width = int(metadata.get("robustness.width", state["conv1.weight"].shape[0]))
    classes = state["linear.weight"].shape[0]
    model = CifarResNet18(width=width, classes=classes)
    return check_logits(model, state, io_path)


def check_logits(model, state, io_path):
    """Loads `state` strictly (every name and shape must match PyTorch's), runs the io file's `input` in eval mode
    and compares with its `logits`: exit code 0 within 1e-4, else 1. Shared by the reference scripts."""
    model.load_state_dict(state, strict=True)
    model.eval()
    io, _ = read_safetensors(io_path)
    with torch.no_grad():
        logits = model(io["input"])
    diff = (logits - io["logits"]).abs().max().item()
    print(f"max |logit difference| = {diff:.3g}")
    return 0 if diff <= 1e-4 else 1


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "verify":
        sys.exit(verify(sys.argv[2], sys.argv[3]))
    if len(sys.argv) != 1:
        sys.exit(__doc__)
    make_fixtures()
