"""The colorization loss on channels-last logits (the training default) runs along the innermost bin axis: the
same loss and gradients as on contiguous logits, without copying the (N, Q, h, w) logits to another layout."""
import torch
from torch.profiler import ProfilerActivity, profile

from tinct.train.loss import colorization_loss


def inputs(seed=0, n=2, q=261, h=8, w=8, k=5):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, q, h, w, generator=g) * 3
    index = torch.randint(0, q, (n, k, h, w), generator=g)
    weight = torch.rand(n, k, h, w, generator=g)
    return logits, index, weight / weight.sum(1, keepdim=True), torch.rand(q, generator=g) + 0.5


def loss_and_grad(logits, index, weight, bins):
    x = logits.detach().clone().requires_grad_(True)
    loss = colorization_loss(x, index, weight, bins)
    loss.backward()
    return loss.detach(), x.grad


def test_channels_last_logits_give_the_same_loss_and_gradients():
    logits, index, weight, bins = inputs()
    for b in (bins, None):
        a, ga = loss_and_grad(logits, index, weight, b)
        c, gc = loss_and_grad(logits.contiguous(memory_format=torch.channels_last), index, weight, b)
        torch.testing.assert_close(c, a, rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(gc, ga, rtol=1e-5, atol=1e-7)


def test_channels_last_logits_are_not_copied_to_another_layout():
    logits, index, weight, bins = inputs(1)
    x = logits.contiguous(memory_format=torch.channels_last).requires_grad_(True)
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        colorization_loss(x, index, weight, bins).backward()
    copies = [e for e in prof.events() if e.name in ("aten::copy_", "aten::clone", "aten::contiguous")
              and any(list(s) == list(logits.shape) for s in e.input_shapes)]
    assert not copies, [(e.name, e.input_shapes) for e in copies]
