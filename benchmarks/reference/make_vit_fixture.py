#!/usr/bin/python3
"""PyTorch reference for Robustness' Vision Transformer (weight interoperability fixture, reverse check, MAC count).

The network below follows timm's VisionTransformer layout with class-token pooling (patch_embed.proj, cls_token,
pos_embed, blocks.N.{norm1, attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2}, norm, head; LayerNorm eps 1e-6, exact
GELU), written here so that timm is not needed. Regenerate the fixtures with Debian's PyTorch:

    /usr/bin/python3 benchmarks/reference/make_vit_fixture.py

It writes, into tests/Robustness.Tests/Models/Fixtures/:
  vit_w48_d3.safetensors     the state dict of a seeded ViT (width 48, depth 3, 3 heads, patch 4, 32x32, 10 classes)
  vit_w48_d3_io.safetensors  `input` (4 seeded images in [0,1]) and `logits`, with metadata `macs`: the
                             multiply-accumulates of one image counted on the PyTorch side (convolution and linear
                             layers by forward hooks, plus the two attention products n^2 d of every block)

Reverse check (used by the C# tests when /usr/bin/python3 has torch):

    /usr/bin/python3 benchmarks/reference/make_vit_fixture.py verify WEIGHTS.safetensors IO.safetensors

Exit code 0 when the logits agree within 1e-4. The images go in as they are (no normalisation inside).
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_resnet18_fixture import FIXTURE_DIR, check_logits, read_safetensors, write_safetensors  # noqa: E402

WIDTH, DEPTH, HEADS, PATCH, SIZE, CLASSES = 48, 3, 3, 4, 32, 10


class PatchEmbed(nn.Module):
    def __init__(self, channels, width, patch):
        super().__init__()
        self.proj = nn.Conv2d(channels, width, patch, stride=patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.scale = (width // heads) ** -0.5
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x):
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        attention = ((q * self.scale) @ k.transpose(-2, -1)).softmax(-1)
        return self.proj((attention @ v).transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    def __init__(self, width, hidden):
        super().__init__()
        self.fc1 = nn.Linear(width, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, width)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, width, heads, hidden):
        super().__init__()
        self.norm1 = nn.LayerNorm(width, eps=1e-6)
        self.attn = Attention(width, heads)
        self.norm2 = nn.LayerNorm(width, eps=1e-6)
        self.mlp = Mlp(width, hidden)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class VisionTransformer(nn.Module):
    def __init__(self, width=WIDTH, depth=DEPTH, heads=HEADS, patch=PATCH, size=SIZE, classes=CLASSES, channels=3, mlp_ratio=4.0):
        super().__init__()
        tokens = (size // patch) ** 2
        self.patch_embed = PatchEmbed(channels, width, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, width))
        self.pos_embed = nn.Parameter(torch.zeros(1, tokens + 1, width))
        self.blocks = nn.Sequential(*[Block(width, heads, int(round(width * mlp_ratio))) for _ in range(depth)])
        self.norm = nn.LayerNorm(width, eps=1e-6)
        self.head = nn.Linear(width, classes)
        nn.init.normal_(self.pos_embed, std=0.02)
        nn.init.normal_(self.cls_token, std=0.02)

    def forward(self, x):
        x = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], 1) + self.pos_embed
        x = self.blocks(x)
        return self.head(self.norm(x)[:, 0])


def count_macs(model, size=SIZE):
    total = [0]

    def hook(module, _, output):
        weight = module.weight
        total[0] += output.numel() * (weight.numel() // weight.shape[0])

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    for h in handles:
        h.remove()
    n = (size // PATCH) ** 2 + 1
    width = model.norm.weight.shape[0]
    return total[0] + len(model.blocks) * 2 * n * n * width


def make_fixtures():
    os.makedirs(FIXTURE_DIR, exist_ok=True)
    torch.manual_seed(20261206)
    model = VisionTransformer().eval()
    images = torch.rand(4, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(11))
    with torch.no_grad():
        logits = model(images)
    macs = count_macs(model)
    state = model.state_dict()
    write_safetensors(os.path.join(FIXTURE_DIR, "vit_w48_d3.safetensors"), state, {"format": "pt"})
    write_safetensors(os.path.join(FIXTURE_DIR, "vit_w48_d3_io.safetensors"), {"input": images, "logits": logits},
                      {"format": "pt", "macs": str(macs)})
    params = sum(p.numel() for p in model.parameters())
    print(f"wrote {len(state)} tensors ({params} parameters, {macs} MACs) and io to {os.path.normpath(FIXTURE_DIR)}")
    print("names:", sorted(state))


def verify(weights_path, io_path):
    state, metadata = read_safetensors(weights_path)
    width = state["cls_token"].shape[2]
    depth = len({k.split(".")[1] for k in state if k.startswith("blocks.")})
    parameters = json.loads(metadata.get("robustness.parameters", "{}"))  # a file written by Classifier.Save
    model = VisionTransformer(width=width, depth=depth, heads=int(parameters.get("heads", HEADS)),
                              patch=int(parameters.get("patch", PATCH)), classes=state["head.weight"].shape[0])
    return check_logits(model, state, io_path)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "verify":
        sys.exit(verify(sys.argv[2], sys.argv[3]))
    if len(sys.argv) != 1:
        sys.exit(__doc__)
    make_fixtures()
