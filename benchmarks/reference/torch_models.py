"""PyTorch twins of Robustness zoo networks, for benchmarks and interop fixtures.

Parameter names match the C# networks (state dicts move both ways through safetensors).
Run with Debian's PyTorch: /usr/bin/python3 (package python3-torch).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class SmallCnn(nn.Module):
    """Same layout as Robustness.Models.SmallCnn: 3 stages of 2x(conv3x3+BN+ReLU), max-pool, GAP, linear."""

    def __init__(self, classes=10, width=32, in_channels=3):
        super().__init__()
        w1, w2, w3 = width, 2 * width, 4 * width
        layers = []

        def block(name, cin, cout):
            layers.append((f"conv{name}", nn.Conv2d(cin, cout, 3, padding=1, bias=False)))
            layers.append((f"bn{name}", nn.BatchNorm2d(cout)))
            layers.append((f"relu{name}", nn.ReLU()))

        block(1, in_channels, w1); block(2, w1, w1); layers.append(("pool1", nn.MaxPool2d(2)))
        block(3, w1, w2); block(4, w2, w2); layers.append(("pool2", nn.MaxPool2d(2)))
        block(5, w2, w3); block(6, w3, w3)
        layers.append(("pool", nn.AdaptiveAvgPool2d(1)))
        layers.append(("flatten", nn.Flatten()))
        from collections import OrderedDict
        self.features = nn.Sequential(OrderedDict(layers))
        self.linear = nn.Linear(w3, classes)

    def forward(self, x):
        return self.linear(self.features(x))


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet18(nn.Module):
    """The common CIFAR ResNet-18 (3x3 stem, no max-pool, [2,2,2,2]); width 64 is the standard network."""

    def __init__(self, classes=10, width=64):
        super().__init__()
        self.in_planes = width
        self.conv1 = nn.Conv2d(3, width, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.layer1 = self._make_layer(width, 2, 1)
        self.layer2 = self._make_layer(2 * width, 2, 2)
        self.layer3 = self._make_layer(4 * width, 2, 2)
        self.layer4 = self._make_layer(8 * width, 2, 2)
        self.linear = nn.Linear(8 * width, classes)

    def _make_layer(self, planes, blocks, stride):
        layers = []
        for s in [stride] + [1] * (blocks - 1):
            layers.append(BasicBlock(self.in_planes, planes, s))
            self.in_planes = planes
        return nn.Sequential(*layers)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.linear(out)


def build(arch, classes=10, width=0):
    if arch == "small-cnn":
        return SmallCnn(classes, width or 32)
    if arch == "resnet18":
        return ResNet18(classes, width or 64)
    raise ValueError(f"unknown architecture {arch}")
