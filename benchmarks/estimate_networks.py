"""The ImageNet networks of the published throughput tables, written out (torchvision cannot be installed
beside this torch). Layer shapes follow the papers and torchvision's definitions; weights are never
initialised for real: `kpbench estimate` traces them on fake tensors.

- ResNet-50/152 (He et al. 2015; v1.5 = the stride on the 3×3 convolution, as NVIDIA's and torchvision's)
- VGG16 (Simonyan and Zisserman 2014, configuration D)
- AlexNet (the one-tower variant of Krizhevsky 2014, as tf_cnn_benchmarks and torchvision)
- Inception v3 (Szegedy et al. 2015; 299×299 input, no auxiliary head)
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn


def _conv_bn(c_in: int, c_out: int, kernel, stride: int = 1, padding=0) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


class Bottleneck(nn.Module):
    def __init__(self, c_in: int, width: int, stride: int, v15: bool = True) -> None:
        super().__init__()
        c_out = width * 4
        s1, s3 = (1, stride) if v15 else (stride, 1)
        self.body = nn.Sequential(
            nn.Conv2d(c_in, width, 1, s1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, s3, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.Conv2d(width, c_out, 1, bias=False), nn.BatchNorm2d(c_out))
        self.short = (nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
                      if stride != 1 or c_in != c_out else nn.Identity())
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.body(x) + self.short(x))


def resnet(blocks: tuple[int, int, int, int], v15: bool = True) -> nn.Module:
    layers: list[nn.Module] = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
                               nn.MaxPool2d(3, 2, 1)]
    c_in = 64
    for i, n in enumerate(blocks):
        width = 64 * 2 ** i
        for j in range(n):
            layers.append(Bottleneck(c_in, width, 2 if j == 0 and i > 0 else 1, v15))
            c_in = width * 4
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, 1000)]
    return nn.Sequential(*layers)


def resnet50() -> nn.Module:
    return resnet((3, 4, 6, 3))


def resnet50_v1() -> nn.Module:
    return resnet((3, 4, 6, 3), v15=False)


def resnet152() -> nn.Module:
    return resnet((3, 8, 36, 3), v15=False)


def vgg16() -> nn.Module:
    layers: list[nn.Module] = []
    c_in = 3
    for v in (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"):
        if v == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(c_in, v, 3, padding=1), nn.ReLU(inplace=True)]
            c_in = v
    layers += [nn.Flatten(), nn.Linear(512 * 7 * 7, 4096), nn.ReLU(inplace=True), nn.Dropout(),
               nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(), nn.Linear(4096, 1000)]
    return nn.Sequential(*layers)


def alexnet() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.Flatten(), nn.Dropout(), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True), nn.Dropout(),
        nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Linear(4096, 1000))


class _Branches(nn.Module):
    """Parallel branches whose outputs are concatenated along channels (the Inception module)."""

    def __init__(self, *branches: nn.Module) -> None:
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x):
        import torch

        return torch.cat([b(x) for b in self.branches], 1)


def _pool_branch(c_in: int, c_out: int) -> nn.Module:
    return nn.Sequential(nn.AvgPool2d(3, 1, 1), _conv_bn(c_in, c_out, 1))


def _inception_a(c_in: int, pool: int) -> nn.Module:
    return _Branches(_conv_bn(c_in, 64, 1),
                     nn.Sequential(_conv_bn(c_in, 48, 1), _conv_bn(48, 64, 5, padding=2)),
                     nn.Sequential(_conv_bn(c_in, 64, 1), _conv_bn(64, 96, 3, padding=1), _conv_bn(96, 96, 3, padding=1)),
                     _pool_branch(c_in, pool))


def _inception_b(c_in: int) -> nn.Module:
    return _Branches(_conv_bn(c_in, 384, 3, 2),
                     nn.Sequential(_conv_bn(c_in, 64, 1), _conv_bn(64, 96, 3, padding=1), _conv_bn(96, 96, 3, 2)),
                     nn.MaxPool2d(3, 2))


def _seven(c_in: int, mid: int, c_out: int, twice: bool) -> nn.Module:
    pairs = [(1, 7), (7, 1)] * (2 if twice else 1)
    layers, c = [_conv_bn(c_in, mid, 1)], mid
    for i, (kh, kw) in enumerate(pairs):
        out = c_out if i == len(pairs) - 1 else mid
        layers.append(_conv_bn(c, out, (kh, kw), padding=(kh // 2, kw // 2)))
        c = out
    return nn.Sequential(*layers)


def _inception_c(c_in: int, mid: int) -> nn.Module:
    return _Branches(_conv_bn(c_in, 192, 1), _seven(c_in, mid, 192, False), _seven(c_in, mid, 192, True),
                     _pool_branch(c_in, 192))


def _inception_d(c_in: int) -> nn.Module:
    return _Branches(nn.Sequential(_conv_bn(c_in, 192, 1), _conv_bn(192, 320, 3, 2)),
                     nn.Sequential(_seven(c_in, 192, 192, False), _conv_bn(192, 192, 3, 2)),
                     nn.MaxPool2d(3, 2))


def _split(c_in: int) -> nn.Module:
    return _Branches(_conv_bn(c_in, 384, (1, 3), padding=(0, 1)), _conv_bn(c_in, 384, (3, 1), padding=(1, 0)))


def _inception_e(c_in: int) -> nn.Module:
    return _Branches(_conv_bn(c_in, 320, 1), nn.Sequential(_conv_bn(c_in, 384, 1), _split(384)),
                     nn.Sequential(_conv_bn(c_in, 448, 1), _conv_bn(448, 384, 3, padding=1), _split(384)),
                     _pool_branch(c_in, 192))


def inception_v3() -> nn.Module:
    return nn.Sequential(
        _conv_bn(3, 32, 3, 2), _conv_bn(32, 32, 3), _conv_bn(32, 64, 3, padding=1), nn.MaxPool2d(3, 2),
        _conv_bn(64, 80, 1), _conv_bn(80, 192, 3), nn.MaxPool2d(3, 2),
        _inception_a(192, 32), _inception_a(256, 64), _inception_a(288, 64), _inception_b(288),
        _inception_c(768, 128), _inception_c(768, 160), _inception_c(768, 160), _inception_c(768, 192),
        _inception_d(768), _inception_e(1280), _inception_e(2048),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(), nn.Linear(2048, 1000))


# The published table's model names → (builder, input side in pixels).
NETWORKS: dict[str, tuple[Callable[[], nn.Module], int]] = {
    "ResNet-50 v1.5": (resnet50, 224),
    "ResNet-50": (resnet50_v1, 224),
    "ResNet-152": (resnet152, 224),
    "VGG16": (vgg16, 224),
    "AlexNet": (alexnet, 224),
    "InceptionV3": (inception_v3, 299),
}


class _PreactBlock(nn.Module):
    """Pre-activation residual block (He et al. 2016): BN-ReLU-conv twice (basic) or three times (bottleneck)."""

    def __init__(self, c_in: int, width: int, stride: int, bottleneck: bool) -> None:
        super().__init__()
        c_out = width * 4 if bottleneck else width
        if bottleneck:
            shapes = [(c_in, width, 1, 1), (width, width, 3, stride), (width, c_out, 1, 1)]
        else:
            shapes = [(c_in, width, 3, stride), (width, width, 3, 1)]
        layers: list[nn.Module] = []
        for a, b, k, s in shapes:
            layers += [nn.BatchNorm2d(a), nn.ReLU(inplace=False), nn.Conv2d(a, b, k, s, k // 2, bias=False)]
        self.body = nn.Sequential(*layers)
        self.short = nn.Conv2d(c_in, c_out, 1, stride, bias=False) if stride != 1 or c_in != c_out else nn.Identity()

    def forward(self, x):
        return self.body(x) + self.short(x)


def cifar_preact_resnet(blocks_per_stage: int, bottleneck: bool) -> nn.Module:
    """The CIFAR-10 pre-activation ResNets of the DAWNBench entries: stages of 16, 32, 64 (×4 with bottlenecks)."""
    layers: list[nn.Module] = [nn.Conv2d(3, 16, 3, 1, 1, bias=False)]
    c_in = 16
    for i, width in enumerate((16, 32, 64)):
        for j in range(blocks_per_stage):
            layers.append(_PreactBlock(c_in, width, 2 if j == 0 and i > 0 else 1, bottleneck))
            c_in = width * 4 if bottleneck else width
    layers += [nn.BatchNorm2d(c_in), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, 10)]
    return nn.Sequential(*layers)


def resnet164_cifar() -> nn.Module:
    return cifar_preact_resnet(18, bottleneck=True)  # 9 × 18 + 2 = 164 layers


def resnet50_cifar() -> nn.Module:
    return cifar_preact_resnet(8, bottleneck=False)  # 6 × 8 + 2 = 50 layers (tensorpack cifar10-resnet.py -n 8)


NETWORKS["ResNet-164 CIFAR"] = (resnet164_cifar, 32)
NETWORKS["ResNet-50 CIFAR"] = (resnet50_cifar, 32)
