"""The colorization loss against hand-computed numbers, its reduction, and its gradient."""
import math

import pytest
import torch
import torch.nn.functional as F

from tinct.color import encode_soft, to_dense
from tinct.train.loss import colorization_loss

LN2, LN3 = math.log(2), math.log(3)

# Q = 3 made-up bins; 2 images of 2 x 2 pixels. Per-pixel probabilities (Q,) in row-major pixel order:
PROBS = [
    [[0.5, 0.25, 0.25], [0.25, 0.5, 0.25], [0.25, 0.25, 0.5], [1 / 3, 1 / 3, 1 / 3]],   # image 0
    [[0.25, 0.25, 0.5]] * 4,                                                         # image 1
]
# soft targets over k = 2 bins, nearest first: (index, weight) per pixel
TARGETS = [
    [([0, 1], [0.75, 0.25]), ([1, 2], [1.0, 0.0]), ([0, 2], [0.5, 0.5]), ([2, 0], [0.6, 0.4])],
    [([2, 1], [0.9, 0.1])] * 4,
]
BIN_WEIGHTS = torch.tensor([2.0, 0.5, 1.0])


def example(offset=3.0):
    """-> logits (2, 3, 2, 2) (log-probabilities plus a per-pixel constant), index, weight (2, 2, 2, 2)."""
    p = torch.tensor(PROBS, dtype=torch.float64)                   # (N, P, Q)
    logits = p.log() + offset * torch.arange(8, dtype=torch.float64).view(2, 4, 1)  # softmax-invariant shift
    logits = logits.permute(0, 2, 1).reshape(2, 3, 2, 2).float()
    idx = torch.tensor([[t[0] for t in img] for img in TARGETS]).permute(0, 2, 1).reshape(2, 2, 2, 2)
    w = torch.tensor([[t[1] for t in img] for img in TARGETS]).permute(0, 2, 1).reshape(2, 2, 2, 2)
    return logits, idx, w


def test_loss_hand_computed_without_weights():
    logits, idx, w = example()
    # image 0 pixels: -(.75 ln .5 + .25 ln .25) = 1.25 ln2; -ln .5 = ln2; -(.5 ln .25 + .5 ln .5) = 1.5 ln2; ln3
    img0 = (1.25 * LN2 + 1.0 * LN2 + 1.5 * LN2 + LN3) / 4
    # image 1 pixels: -(.9 ln .5 + .1 ln .25) = 1.1 ln2 each
    img1 = 1.1 * LN2
    loss = colorization_loss(logits, idx, w)
    assert loss.dim() == 0
    assert loss.item() == pytest.approx(img0 + img1, rel=1e-6)
    assert loss.item() == pytest.approx(1.68694, abs=1e-5)   # the same, as a plain number


def test_loss_hand_computed_with_bin_weights():
    logits, idx, w = example()
    # each pixel's cross-entropy times the weight of its NEAREST bin (index[:, 0]): weights (2, .5, 1)
    img0 = (2.0 * 1.25 * LN2 + 0.5 * LN2 + 2.0 * 1.5 * LN2 + 1.0 * LN3) / 4
    img1 = 1.0 * 1.1 * LN2
    loss = colorization_loss(logits, idx, w, BIN_WEIGHTS)
    assert loss.item() == pytest.approx(img0 + img1, rel=1e-6)
    assert loss.item() == pytest.approx(2.07684, abs=1e-5)
    # all-ones weights are the same as none
    assert colorization_loss(logits, idx, w, torch.ones(3)).item() == pytest.approx(
        colorization_loss(logits, idx, w).item(), rel=1e-7)


def test_loss_is_sum_over_images_of_mean_over_pixels():
    logits, idx, w = example()
    both = colorization_loss(logits, idx, w, BIN_WEIGHTS)
    each = [colorization_loss(logits[i:i + 1], idx[i:i + 1], w[i:i + 1], BIN_WEIGHTS) for i in range(2)]
    assert both.item() == pytest.approx(sum(e.item() for e in each), rel=1e-6)        # sum over images
    # mean over pixels: the same picture at 2x the pixels (each pixel repeated) has the same loss
    up = lambda t: t.repeat_interleave(2, -1).repeat_interleave(2, -2)  # noqa: E731
    assert colorization_loss(up(logits), up(idx), up(w), BIN_WEIGHTS).item() == pytest.approx(both.item(), rel=1e-6)
    # and twice the images: twice the loss
    cat = lambda t: torch.cat([t, t])  # noqa: E731
    assert colorization_loss(cat(logits), cat(idx), cat(w), BIN_WEIGHTS).item() == pytest.approx(2 * both.item(),
                                                                                                  rel=1e-6)


def test_loss_matches_dense_cross_entropy_from_soft_encoding():
    """Made-up centres and real soft encoding: the sparse loss equals the dense textbook formula."""
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [-10.0, -10.0], [20.0, 20.0]])
    g = torch.Generator().manual_seed(0)
    ab = torch.randn(3, 2, 4, 4, generator=g) * 8
    logits = torch.randn(3, 5, 4, 4, generator=g)
    idx, w = encode_soft(ab, centres, k=3, sigma=5.0)
    bw = torch.tensor([0.5, 1.0, 2.0, 3.0, 4.0])
    z = to_dense(idx, w, 5)
    nearest = idx[:, 0]
    dense = -(z * F.log_softmax(logits, 1)).sum(1) * bw[nearest]    # (N, H, W)
    assert colorization_loss(logits, idx, w, bw).item() == pytest.approx(dense.mean((1, 2)).sum().item(), rel=1e-5)


def test_gradient_flows_and_matches_analytic():
    logits, idx, w = example()
    logits = logits.double().requires_grad_(True)
    loss = colorization_loss(logits, idx, w.double(), BIN_WEIGHTS.double())
    loss.backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0
    # d loss / d logits = w(q*) * (softmax - z) / (pixels per image)
    z = to_dense(idx, w.double(), 3)
    pix_w = BIN_WEIGHTS.double()[idx[:, 0]].unsqueeze(1)
    expect = pix_w * (torch.softmax(logits.detach(), 1) - z) / 4
    torch.testing.assert_close(logits.grad, expect)


def test_gradient_through_a_network_and_bf16_logits():
    net = torch.nn.Conv2d(1, 3, 1)
    x = torch.randn(2, 1, 2, 2)
    _, idx, w = example()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = net(x)
    assert logits.dtype == torch.bfloat16
    loss = colorization_loss(logits, idx, w, BIN_WEIGHTS)
    assert loss.dtype == torch.float32            # computed in fp32 whatever the logits' precision
    loss.backward()
    assert net.weight.grad is not None and net.weight.grad.abs().sum() > 0


def test_perfect_prediction_has_the_target_entropy():
    """Predicting exactly the soft target gives the loss floor H(z) (no lower)."""
    _, idx, w = example()
    z = to_dense(idx, w, 3).clamp(min=1e-30)
    best = colorization_loss(z.log(), idx, w).item()
    entropy = -(w * w.clamp(min=1e-30).log()).sum(1).mean((1, 2)).sum().item()
    assert best == pytest.approx(entropy, abs=1e-5)
    logits, _, _ = example()
    assert colorization_loss(logits, idx, w).item() > best


def test_ab_regression_is_the_l1_miss_of_the_mean_colour_in_tens_of_ab():
    from tinct.train.loss import ab_regression_loss
    centres = torch.tensor([[0.0, 0.0], [40.0, 0.0], [0.0, -20.0]])
    p = torch.tensor([[0.5, 0.5, 0.0], [0.25, 0.25, 0.5]])            # two pixels of one 1x2 image
    logits = p.clamp(min=1e-12).log().T.reshape(1, 3, 1, 2)
    # E[ab]: (20, 0) and (10, -10); truth (20, 0) and (0, 0): misses 0 and |10| + |-10| = 20 -> 0 and 2 units
    ab = torch.tensor([[20.0, 0.0], [0.0, 0.0]]).T.reshape(1, 2, 1, 2)
    assert ab_regression_loss(logits, centres, ab).item() == pytest.approx((0 + 2.0) / 2, rel=1e-5)
    # summed over images like the cross-entropy
    two = ab_regression_loss(torch.cat([logits, logits]), centres, torch.cat([ab, ab]))
    assert two.item() == pytest.approx(2.0, rel=1e-5)


def test_ab_regression_gradient_moves_the_mean_colour_towards_the_truth():
    from tinct.train.loss import ab_regression_loss
    centres = torch.tensor([[0.0, 0.0], [40.0, 0.0], [0.0, 40.0], [-30.0, -30.0]])
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(2, 4, 3, 3, generator=g, requires_grad=True)
    truth = torch.randn(2, 2, 3, 3, generator=g) * 10
    before = ab_regression_loss(logits, centres, truth)
    before.backward()
    with torch.no_grad():
        after = ab_regression_loss(logits - 0.05 * logits.grad, centres, truth)
    assert after.item() < before.item()
