"""Generates the PyTorch fixtures of `tests/pytorch.rs` (run once; CI only reads the files).

    /work/venv/py/bin/python crates/effpath-ir/tests/data/pytorch/make_fixtures.py

For every small network below (one per family of issue 11) and every exporter, writes
`<family>.<exporter>.onnx` and `<family>.<exporter>.bin`: the `.bin` file is the float32
little-endian input batch followed by PyTorch's logits for it (batch × classes), so a test
can recover the batch size from the file length. Exporters: `legacy17` is
`torch.onnx.export(..., dynamo=False, opset_version=17)`, `dynamo` the default
`torch.onnx.export(..., dynamo=True)`; a few extra opsets are exported for the first family.
Weights are random (seed 0) and batch-norm running statistics randomised so that they matter.
"""

import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


class InvertedResidual(nn.Module):
    """MobileNet v2 block: 1×1 expand, ReLU6, depthwise 3×3, ReLU6, 1×1 project (+ skip)."""

    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        mid = cin * expand
        self.skip = stride == 1 and cin == cout
        self.block = nn.Sequential(
            nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU6(),
            nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=False), nn.BatchNorm2d(mid), nn.ReLU6(),
            nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout),
        )

    def forward(self, x):
        y = self.block(x)
        return x + y if self.skip else y


class MobileNetish(nn.Module):
    """MobileNet v2/v3 style: ReLU6, depthwise convs, residuals, a Hardswish head with an
    SE block gated by Hardsigmoid (v3)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU6())
        self.blocks = nn.Sequential(InvertedResidual(8, 8, 1, 2), InvertedResidual(8, 12, 2, 3),
                                    InvertedResidual(12, 12, 1, 3))
        self.head = nn.Sequential(nn.Conv2d(12, 24, 1), nn.Hardswish())
        self.se1 = nn.Conv2d(24, 8, 1)
        self.se2 = nn.Conv2d(8, 24, 1)
        self.fc = nn.Linear(24, 10)

    def forward(self, x):
        x = self.head(self.blocks(self.stem(x)))
        g = F.hardsigmoid(self.se2(F.relu(self.se1(F.adaptive_avg_pool2d(x, 1)))))
        x = x * g
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class MBConv(nn.Module):
    """EfficientNet block: expand, SiLU, depthwise, SiLU, squeeze-excitation (SiLU, Sigmoid
    gate), project, skip."""

    def __init__(self, c, expand=4):
        super().__init__()
        mid = c * expand
        self.expand = nn.Sequential(nn.Conv2d(c, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.SiLU())
        self.dw = nn.Sequential(nn.Conv2d(mid, mid, 3, 1, 1, groups=mid, bias=False), nn.BatchNorm2d(mid), nn.SiLU())
        self.se = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(mid, 4, 1), nn.SiLU(), nn.Conv2d(4, mid, 1), nn.Sigmoid())
        self.project = nn.Sequential(nn.Conv2d(mid, c, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        y = self.dw(self.expand(x))
        y = y * self.se(y)
        return x + self.project(y)


class EfficientNetish(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.SiLU())
        self.blocks = nn.Sequential(MBConv(8), MBConv(8))
        self.head = nn.Sequential(nn.Conv2d(8, 32, 1), nn.BatchNorm2d(32), nn.SiLU(), nn.AdaptiveAvgPool2d(1),
                                  nn.Flatten(), nn.Dropout(0.2), nn.Linear(32, 10))

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)))


def channel_shuffle(x, groups):
    n, c, h, w = x.size()
    x = x.view(n, groups, c // groups, h, w)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(n, c, h, w)


class ShuffleUnit(nn.Module):
    """ShuffleNet v2 unit (stride 1): channel split, branch, concat, shuffle."""

    def __init__(self, c):
        super().__init__()
        h = c // 2
        self.branch = nn.Sequential(
            nn.Conv2d(h, h, 1, bias=False), nn.BatchNorm2d(h), nn.ReLU(),
            nn.Conv2d(h, h, 3, 1, 1, groups=h, bias=False), nn.BatchNorm2d(h),
            nn.Conv2d(h, h, 1, bias=False), nn.BatchNorm2d(h), nn.ReLU())

    def forward(self, x):
        a, b = x.chunk(2, dim=1)
        return channel_shuffle(torch.cat((a, self.branch(b)), 1), 2)


class ShuffleNetish(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                                  nn.MaxPool2d(3, 2, 1))
        self.units = nn.Sequential(ShuffleUnit(16), ShuffleUnit(16))
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.units(self.stem(x))
        # A plain Slice too (every other channel), as `x[:, ::2]`.
        x = torch.cat((x[:, ::2], x[:, 1::2]), 1)
        return self.fc(x.mean([2, 3]))


class Inception(nn.Module):
    """GoogLeNet inception block: 1×1, 1×1→3×3, 1×1→3×3, ceil-mode 3×3 max pool→1×1."""

    def __init__(self, cin, c1, c3r, c3, c5r, c5, cp):
        super().__init__()
        cbr = lambda i, o, k: nn.Sequential(nn.Conv2d(i, o, k, padding=k // 2, bias=False), nn.BatchNorm2d(o, eps=0.001), nn.ReLU())
        self.b1 = cbr(cin, c1, 1)
        self.b2 = nn.Sequential(cbr(cin, c3r, 1), cbr(c3r, c3, 3))
        self.b3 = nn.Sequential(cbr(cin, c5r, 1), cbr(c5r, c5, 3))
        self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, 1, ceil_mode=True), cbr(cin, cp, 1))

    def forward(self, x):
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)


class GoogLeNetish(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8, eps=0.001), nn.ReLU(),
                                  nn.MaxPool2d(3, 2, ceil_mode=True))
        self.i1 = Inception(8, 4, 4, 8, 2, 4, 4)
        self.pool = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.i2 = Inception(20, 8, 4, 8, 2, 4, 4)
        self.avg = nn.AvgPool2d(2, 2, ceil_mode=True)
        self.fc = nn.Linear(24 * 2 * 2, 10)

    def forward(self, x):
        x = self.i2(self.pool(self.i1(self.stem(x))))
        return self.fc(torch.flatten(self.avg(x), 1))


class ActivationMlp(nn.Module):
    """An MLP through every activation PyTorch exports, ending in LogSoftmax."""

    def __init__(self):
        super().__init__()
        self.l = nn.ModuleList([nn.Linear(3 * 8 * 8, 64)] + [nn.Linear(64, 64) for _ in range(11)])
        self.acts = nn.ModuleList([nn.LeakyReLU(0.1), nn.Tanh(), nn.ELU(), nn.SELU(), nn.Softplus(), nn.GELU(),
                                   nn.GELU(approximate="tanh"), nn.PReLU(64), nn.Hardtanh(-2.0, 2.0), nn.Sigmoid(),
                                   nn.Hardsigmoid(), nn.PReLU()])
        self.out = nn.Linear(64, 10)

    def forward(self, x):
        x = torch.flatten(x, 1)
        for lin, act in zip(self.l, self.acts):
            x = act(lin(x))
        return F.log_softmax(self.out(x), dim=1)


class DilatedBn1d(nn.Module):
    """Dilated convs, explicit padding (F.pad), a ceil-mode average pool, a cropping slice,
    Linear → BatchNorm1d → ReLU, a broadcast residual add and a broadcast divide."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=2, dilation=2)
        self.b1 = nn.BatchNorm2d(8)
        self.c2 = nn.Conv2d(8, 8, 3, dilation=(2, 3))
        self.fc1 = nn.Linear(8 * 4 * 4, 32)
        self.bn = nn.BatchNorm1d(32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = F.relu(self.b1(self.c1(x)))
        x = F.pad(x, (1, 2, 0, 1))
        x = F.relu(self.c2(x))
        x = x + x[:, :1]
        x = x / (1.0 + torch.sigmoid(x[:, 2:3]))
        x = F.avg_pool2d(x[:, :, 1:, :-1], 3, 3, ceil_mode=True)
        x = torch.flatten(x, 1)
        return self.fc2(F.relu(self.bn(self.fc1(x))))


FAMILIES = {
    "mobilenet": (MobileNetish, [3, 32, 32]),
    "efficientnet": (EfficientNetish, [3, 32, 32]),
    "shufflenet": (ShuffleNetish, [3, 32, 32]),
    "googlenet": (GoogLeNetish, [3, 32, 32]),
    "mlp": (ActivationMlp, [3, 8, 8]),
    "dilated": (DilatedBn1d, [3, 16, 16]),
}

EXPORTERS = {
    "legacy17": dict(dynamo=False, opset_version=17),
    "dynamo": dict(dynamo=True),
}
EXTRA = {"mobilenet": {"legacy11": dict(dynamo=False, opset_version=11), "dynamo18": dict(dynamo=True, opset_version=18)},
         "mlp": {"legacy13": dict(dynamo=False, opset_version=13)}}


def randomise_bn(model, gen):
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=gen) * 0.1)


def main():
    only = sys.argv[1:]
    for fam, (cls, shape) in FAMILIES.items():
        if only and fam not in only:
            continue
        torch.manual_seed(0)
        gen = torch.Generator().manual_seed(1)
        model = cls()
        randomise_bn(model, gen)
        model.eval()
        x = torch.randn([2] + shape, generator=gen)
        with torch.no_grad():
            logits = model(x)
        for exp, kw in {**EXPORTERS, **EXTRA.get(fam, {})}.items():
            base = os.path.join(HERE, f"{fam}.{exp}")
            torch.onnx.export(model, (x,), base + ".onnx", input_names=["input"], output_names=["logits"], **kw)
            data = x.flatten().tolist() + logits.flatten().tolist()
            with open(base + ".bin", "wb") as f:
                f.write(struct.pack(f"<{len(data)}f", *data))
            print(fam, exp, os.path.getsize(base + ".onnx"), "bytes")


if __name__ == "__main__":
    main()
