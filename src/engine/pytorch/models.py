"""The five benchmark architectures, as defined by chenyaofo/pytorch-cifar-models (CIFAR ResNets,
VGG-16-BN with a 512-wide head, MobileNetV2 with a stride-1 stem). Module names, and so
state_dict keys, are those of that repository / torchvision, which the TensorFlow.js models use
for their variable names (docs/architectures.md):

  resnet*:      conv1, bn1, layer{1,2,3}.<i>.{conv1,bn1,conv2,bn2}, layer{2,3}.0.downsample.{0,1}, fc
  vgg16bn:      features.<i> (conv, bn, relu per conv layer; a max-pool after each stage),
                classifier.{0,3,6} (the three Linear layers)
  mobilenetv2:  features.0.{0,1} (stem conv, norm), features.<i>.conv.<j>[.k] (inverted residual
                blocks 1..17, torchvision's layout), features.18.{0,1} (last 1x1 conv, norm),
                classifier.1

Beyond the benchmarks (a model that can be built by name, not a benchmark of protocol.json):

  wrn28-10:     conv1, layer{1,2,3}.<i>.{bn1,conv1,bn2,conv2}, layer{1,2,3}.0.shortcut (1x1 conv),
                bn (the final norm), fc: Wide ResNet 28-10, pre-activation (Zagoruyko & Komodakis 2016)

Every normalization slot is built by `norm_factory(num_features)` (default: BatchNorm2d with the
recipe's momentum and epsilon), so a variant's CustomNorm replaces each of them. ReLUs are not
in place: a forward hook on a norm or block must see the tensor the module returned, not one a
later ReLU overwrote."""

from __future__ import annotations

from typing import Callable, List, Optional

import torch
from torch import nn
import torch.nn.functional as F

NormFactory = Callable[[int], nn.Module]

RESNET_DEPTHS = {"resnet20": 3, "resnet56": 9, "resnet110": 18}
VGG16_LAYOUT: List[object] = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
# t (expansion), c (output channels), n (repeats), s (first stride); strides 2 -> 1 for 32x32 input
# in the stem and the second stage, as in chenyaofo's CIFAR variant.
MOBILENETV2_SETTINGS = [[1, 16, 1, 1], [6, 24, 2, 1], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]]
ARCHITECTURES = ("resnet20", "resnet56", "resnet110", "vgg16bn", "mobilenetv2")
# Wide ResNets by id: (depth, widen factor). Depth 6n + 4 gives n blocks per stage.
WIDE_RESNETS = {"wrn28-10": (28, 10)}
# Every id build_model accepts: the benchmarks' architectures and the extra models.
MODEL_IDS = ARCHITECTURES + tuple(WIDE_RESNETS)


def batchnorm_factory(momentum: float = 0.1, eps: float = 1e-5) -> NormFactory:
    def make(num_features: int) -> nn.Module:
        return nn.BatchNorm2d(num_features, eps=eps, momentum=momentum)

    return make


class BasicBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int, norm: NormFactory) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = norm(planes)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = norm(planes)
        self.downsample: Optional[nn.Sequential] = None
        if stride != 1 or in_planes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False), norm(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)


class CifarResNet(nn.Module):
    def __init__(self, blocks_per_stage: int, num_classes: int, norm: NormFactory) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, stride=1, padding=1, bias=False)
        self.bn1 = norm(16)
        self.relu = nn.ReLU()
        self._in_planes = 16
        self.layer1 = self._make_stage(16, blocks_per_stage, 1, norm)
        self.layer2 = self._make_stage(32, blocks_per_stage, 2, norm)
        self.layer3 = self._make_stage(64, blocks_per_stage, 2, norm)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(64, num_classes)

    def _make_stage(self, planes: int, blocks: int, stride: int, norm: NormFactory) -> nn.Sequential:
        layers = []
        for i in range(blocks):
            layers.append(BasicBlock(self._in_planes, planes, stride if i == 0 else 1, norm))
            self._in_planes = planes
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class VGG(nn.Module):
    def __init__(self, num_classes: int, norm: NormFactory) -> None:
        super().__init__()
        layers: List[nn.Module] = []
        channels = 3
        for item in VGG16_LAYOUT:
            if item == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                width = int(item)  # type: ignore[call-overload]
                layers += [nn.Conv2d(channels, width, 3, padding=1), norm(width), nn.ReLU()]
                channels = width
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Linear(512, 512), nn.ReLU(), nn.Dropout(),
            nn.Linear(512, 512), nn.ReLU(), nn.Dropout(),
            nn.Linear(512, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


class ConvNormReLU6(nn.Sequential):
    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, groups: int, norm: NormFactory) -> None:
        super().__init__(
            nn.Conv2d(in_ch, out_ch, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
            norm(out_ch),
            nn.ReLU6(),
        )


class InvertedResidual(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, stride: int, expand_ratio: int, norm: NormFactory) -> None:
        super().__init__()
        hidden = int(round(in_ch * expand_ratio))
        self.use_res_connect = stride == 1 and in_ch == out_ch
        layers: List[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvNormReLU6(in_ch, hidden, 1, 1, 1, norm))
        layers += [
            ConvNormReLU6(hidden, hidden, 3, stride, hidden, norm),
            nn.Conv2d(hidden, out_ch, 1, 1, 0, bias=False),
            norm(out_ch),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        return x + out if self.use_res_connect else out


class MobileNetV2(nn.Module):
    def __init__(self, num_classes: int, norm: NormFactory) -> None:
        super().__init__()
        channels = 32
        last_channels = 1280
        features: List[nn.Module] = [ConvNormReLU6(3, channels, 3, 1, 1, norm)]
        for t, c, n, s in MOBILENETV2_SETTINGS:
            for i in range(n):
                features.append(InvertedResidual(channels, c, s if i == 0 else 1, t, norm))
                channels = c
        features.append(ConvNormReLU6(channels, last_channels, 1, 1, 1, norm))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last_channels, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


class WideBasicBlock(nn.Module):
    """Pre-activation wide block: BN-ReLU-conv3x3-BN-ReLU-(dropout)-conv3x3 plus the shortcut. Where
    the shape changes, the shortcut is a 1x1 conv (no norm) of the block's pre-activated input, as in
    the authors' code; otherwise it is the block's input itself."""

    def __init__(self, in_planes: int, planes: int, stride: int, drop_rate: float, norm: NormFactory) -> None:
        super().__init__()
        self.bn1 = norm(in_planes)
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = norm(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(drop_rate)
        self.shortcut: Optional[nn.Conv2d] = None
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        o = self.relu(self.bn1(x))
        out = self.conv2(self.dropout(self.relu(self.bn2(self.conv1(o)))))
        return out + (x if self.shortcut is None else self.shortcut(o))


class WideResNet(nn.Module):
    """WRN-depth-k for 32x32 inputs: conv 3x3 to 16 channels, three stages of (depth - 4) / 6 wide
    blocks with 16k/32k/64k channels (strides 1, 2, 2), final BN-ReLU, global average pooling, fc."""

    def __init__(self, depth: int, widen: int, num_classes: int, norm: NormFactory, drop_rate: float = 0.0) -> None:
        super().__init__()
        if (depth - 4) % 6 != 0:
            raise ValueError(f"Wide ResNet depth must be 6n + 4, got {depth}")
        blocks = (depth - 4) // 6
        widths = [16 * widen, 32 * widen, 64 * widen]
        self.conv1 = nn.Conv2d(3, 16, 3, stride=1, padding=1, bias=False)
        in_planes = 16
        stages = []
        for width, stride in zip(widths, (1, 2, 2)):
            stage = [WideBasicBlock(in_planes if i == 0 else width, width, stride if i == 0 else 1, drop_rate, norm) for i in range(blocks)]
            stages.append(nn.Sequential(*stage))
            in_planes = width
        self.layer1, self.layer2, self.layer3 = stages
        self.bn = norm(in_planes)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(in_planes, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer3(self.layer2(self.layer1(self.conv1(x))))
        x = F.adaptive_avg_pool2d(self.relu(self.bn(x)), 1)
        return self.fc(torch.flatten(x, 1))


def initialize(model: nn.Module) -> None:
    """The reference initialization. A CustomNorm keeps whatever its constructor set."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)) and m.affine:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.01)
            nn.init.zeros_(m.bias)


def build_model(arch: str, num_classes: int, norm_factory: Optional[NormFactory] = None, seed: Optional[int] = None) -> nn.Module:
    """Builds and initializes one architecture. With `seed`, torch's global generator is seeded
    first, so the same seed gives the same weights."""
    norm = norm_factory or batchnorm_factory()
    if seed is not None:
        torch.manual_seed(seed)
    if arch in RESNET_DEPTHS:
        model: nn.Module = CifarResNet(RESNET_DEPTHS[arch], num_classes, norm)
    elif arch == "vgg16bn":
        model = VGG(num_classes, norm)
    elif arch == "mobilenetv2":
        model = MobileNetV2(num_classes, norm)
    elif arch in WIDE_RESNETS:
        model = WideResNet(*WIDE_RESNETS[arch], num_classes, norm)
    else:
        raise ValueError(f"unknown architecture '{arch}' (expected one of {', '.join(MODEL_IDS)})")
    initialize(model)
    return model


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)

