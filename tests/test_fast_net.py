"""The CPU inference copy of the network (pipeline/fast_net.py): in-place activations in its EfficientNet-Lite
blocks compute exactly what the blocks as written compute, and touch nothing the caller holds."""
import copy

import torch

from tinct.model import ModelConfig, build_model
from tinct.model.efficientnet_lite import MBConv
from tinct.pipeline.fast_net import InplaceMBConv, fold_batchnorm, prepare_for_cpu


def _trained_looking_net():
    torch.manual_seed(0)
    net = build_model(ModelConfig(arch="default"))
    for m in net.modules():   # BatchNorm statistics away from the identity, so folding changes the numbers
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    return net.eval()


def test_inplace_blocks_equal_the_blocks_as_written_bit_for_bit():
    net = _trained_looking_net()
    fast = prepare_for_cpu(net)
    blocks = [m for m in fast.modules() if isinstance(m, MBConv)]
    assert blocks and all(type(m) is InplaceMBConv for m in blocks)
    assert any(m.residual for m in blocks)
    plain = copy.deepcopy(fast)
    for m in plain.modules():
        if type(m) is InplaceMBConv:
            m.__class__ = MBConv                       # the same folded weights, the out-of-place forward
    l = (torch.rand(2, 1, 64, 96) * 100).contiguous(memory_format=torch.channels_last)
    hints = torch.zeros(2, 3, 64, 96).contiguous(memory_format=torch.channels_last)
    hints[0, 0, 10:20, 10:20], hints[0, 2, 10:20, 10:20] = 0.3, 1.0
    l0, h0 = l.clone(), hints.clone()
    with torch.inference_mode():
        for bf16 in (False, True):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                a, b = plain(l, hints), fast(l, hints)
            assert torch.equal(a, b), f"bf16={bf16}: max diff {(a.float() - b.float()).abs().max()}"
    assert torch.equal(l, l0) and torch.equal(hints, h0)   # the caller's inputs are untouched


def test_the_network_handed_in_keeps_its_own_blocks():
    net = _trained_looking_net()
    prepare_for_cpu(net)
    assert all(type(m) is MBConv for m in net.modules() if isinstance(m, MBConv))
    assert fold_batchnorm(copy.deepcopy(net)) > 0
