"""Inference-only preparation of a colorizer network for the CPU (issue 5: speed; figures in BENCHMARKS.md).

:func:`prepare_for_cpu` returns a copy of the network with every eval-mode BatchNorm that directly follows a
convolution folded into that convolution's weights and bias (the same function, one memory pass fewer per
layer), in ``channels_last`` memory format (oneDNN's fast convolution layout). The original module is left
untouched, so a network that is still being trained can be handed to a Colorizer safely.

Folded pairs: ``Sequential(..., Conv2d, BatchNorm2d, ...)`` (the FPN decoder and head), the EfficientNet-Lite
blocks (``_expand_conv``/``_bn0``, ``_depthwise_conv``/``_bn1``, ``_project_conv``/``_bn2``) and the encoder stem,
where ``_bn0`` follows the sum ``_conv_stem(l) + hint_stem(hints)``: both convolutions are scaled, the bias goes
on ``_conv_stem``. Anything else (the classic network's BatchNorm after ReLU) is left as it is.

The copy's EfficientNet-Lite blocks also run their ReLU6 and residual sum in place on the convolutions' fresh
outputs (:class:`InplaceMBConv`): the same numbers, two allocations and memory passes fewer per block (in a
py-spy profile of ``tinct colorize DIR`` the activations were a fifth of the network's time).
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from ..model.efficientnet_lite import MBConv


def _fold(conv: nn.Conv2d, bn: nn.BatchNorm2d, also_scale=()) -> nn.Module:
    """Fold ``bn`` (eval statistics) into ``conv`` (and scale the weights of ``also_scale``); -> Identity."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps) if bn.affine else 1 / torch.sqrt(bn.running_var + bn.eps)
    shift = (bn.bias if bn.affine else 0) - bn.running_mean * scale
    with torch.no_grad():
        for c in (conv, *also_scale):
            c.weight.mul_(scale.view(-1, 1, 1, 1).to(c.weight))
        bias = shift if conv.bias is None else conv.bias * scale + shift
        conv.bias = nn.Parameter(bias.detach().clone().to(conv.weight), requires_grad=False)
    return nn.Identity()


def _foldable(conv, bn) -> bool:
    return (isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d) and bn.track_running_stats
            and bn.running_mean is not None and conv.out_channels == bn.num_features)


def fold_batchnorm(net: nn.Module) -> int:
    """Fold BatchNorms into the preceding convolutions of ``net`` **in place**; -> how many were folded."""
    from ..model.efficientnet_lite import LiteEncoder
    n = 0
    for m in list(net.modules()):
        if isinstance(m, MBConv):
            for conv, bn in (("_expand_conv", "_bn0"), ("_depthwise_conv", "_bn1"), ("_project_conv", "_bn2")):
                if _foldable(getattr(m, conv, None), getattr(m, bn, None)):
                    setattr(m, bn, _fold(getattr(m, conv), getattr(m, bn)))
                    n += 1
        elif isinstance(m, LiteEncoder):
            hint = (m.hint_stem,) if m.hint_stem is not None else ()
            if _foldable(m._conv_stem, m._bn0) and all(h.bias is None for h in hint):
                m._bn0 = _fold(m._conv_stem, m._bn0, hint)
                n += 1
        elif isinstance(m, nn.Sequential):
            for i in range(len(m) - 1):
                if _foldable(m[i], m[i + 1]):
                    m[i + 1] = _fold(m[i], m[i + 1])
                    n += 1
    return n


class InplaceMBConv(MBConv):
    """An inference-only MBConv: ReLU6 and the residual sum in place on the convolutions' own outputs (nothing
    else holds them: no autograd, and folded BatchNorms are Identity or make a new tensor themselves)."""

    def forward(self, x):
        y = x
        if hasattr(self, "_expand_conv"):
            y = F.relu6(self._bn0(self._expand_conv(y)), inplace=True)
        y = F.relu6(self._bn1(self._depthwise_conv(y)), inplace=True)
        y = self._bn2(self._project_conv(y))
        if not self.residual:
            return y
        return y.add_(x) if y.dtype == x.dtype and y.shape == x.shape else x + y


def prepare_for_cpu(net: nn.Module) -> nn.Module:
    """An eval-mode copy of ``net`` with BatchNorms folded, weights in channels_last and in-place activations
    in its EfficientNet-Lite blocks, for CPU inference (no gradients through it)."""
    out = copy.deepcopy(net).eval()
    fold_batchnorm(out)
    for m in out.modules():
        if type(m) is MBConv:
            m.__class__ = InplaceMBConv
    return out.to(memory_format=torch.channels_last)
