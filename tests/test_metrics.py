"""Evaluation metrics: AuC (plain and rebalanced), PSNR and colourfulness, against analytic values."""
import math

import pytest
import torch

from tinct.color.metrics import THRESHOLDS, MetricAccumulator, ab_prior_of, colourfulness, psnr


def run(pred_ab, true_ab, prior=None, pred_rgb=None, true_rgb=None):
    n, _, h, w = true_ab.shape
    rgb = torch.full((n, 3, h, w), 0.5)
    m = MetricAccumulator(prior)
    m.update(pred_ab, true_ab, rgb if pred_rgb is None else pred_rgb, rgb if true_rgb is None else true_rgb)
    return m.result()


def random_ab(seed=0, n=2, h=8, w=8):
    return torch.randn(n, 2, h, w, generator=torch.Generator().manual_seed(seed)) * 30


def test_auc_of_perfect_prediction_is_100():
    ab = random_ab()
    r = run(ab, ab, prior=ab_prior_of([ab]))
    assert r["auc"] == pytest.approx(100.0)
    assert r["auc_rebalanced"] == pytest.approx(100.0)
    assert len(r["auc_curve"]) == len(THRESHOLDS) == 151


@pytest.mark.parametrize("d", [0.0, 1.0, 10.0, 10.5, 37.2, 150.0, 151.0, 400.0])
def test_auc_of_constant_error_is_analytic(d):
    """Every pixel off by exactly d: within t iff t >= d, for the 151 integer thresholds t = 0..150."""
    truth = random_ab(1).round()                                    # integers: truth + d is exact in float32
    g = torch.Generator().manual_seed(2)
    axis = torch.randint(0, 2, truth[:, :1].shape, generator=g).bool()
    sign = torch.randint(0, 2, truth[:, :1].shape, generator=g) * 2.0 - 1
    step = d * sign
    pred = truth + torch.cat([torch.where(axis, step, 0.0), torch.where(axis, 0.0, step)], 1)  # |error| = d
    assert torch.allclose((pred - truth).norm(dim=1), torch.tensor(d))
    expect = 100 * sum(1 for t in range(151) if t >= d) / 151
    r = run(pred, truth, prior=ab_prior_of([truth]))
    assert r["auc"] == pytest.approx(expect, abs=1e-6)
    # constant error: the rebalanced AuC is the same whatever the weights
    assert r["auc_rebalanced"] == pytest.approx(expect, abs=1e-6)
    if d == 10.0:
        assert r["auc"] == pytest.approx(100 * 141 / 151, abs=1e-6)   # thresholds 10..150


def test_auc_curve_is_a_cdf_and_streaming_equals_one_pass():
    truth, pred = random_ab(3, n=4), random_ab(4, n=4)
    prior = ab_prior_of([truth])
    one = run(pred, truth, prior)
    curve = torch.tensor(one["auc_curve"])
    assert (curve[1:] >= curve[:-1]).all() and 0 <= curve[0] and curve[-1] <= 1
    d = (pred - truth).norm(dim=1).flatten()
    brute = torch.stack([(d <= t).double().mean() for t in range(151)])
    torch.testing.assert_close(curve.double(), brute, atol=1e-6, rtol=0)
    m = MetricAccumulator(prior)
    rgb = torch.full((1, 3, 8, 8), 0.5)
    for i in range(4):
        m.update(pred[i:i + 1], truth[i:i + 1], rgb, rgb)
    streamed = m.result()
    assert streamed["auc"] == pytest.approx(one["auc"], abs=1e-9)
    assert streamed["auc_rebalanced"] == pytest.approx(one["auc_rebalanced"], abs=1e-9)
    assert streamed["images"] == 4


def test_rebalanced_auc_weights_rare_pixels_more():
    """Common colour (grey, 60 of 64 pixels) vs rare colour (a saturated red, 4 pixels)."""
    truth = torch.zeros(1, 2, 8, 8)
    truth[0, :, :2, :2] = torch.tensor([60.0, 50.0]).view(2, 1, 1)
    rare = torch.zeros(8, 8, dtype=torch.bool)
    rare[:2, :2] = True
    prior = ab_prior_of([truth])
    # right on the common pixels, 100 off on the rare ones
    wrong_rare = truth.clone()
    wrong_rare[0, :, rare] = 0.0
    r1 = run(wrong_rare, truth, prior)
    assert r1["auc_rebalanced"] < r1["auc"]
    # right on the rare pixels, far off on the common ones
    wrong_common = truth.clone()
    wrong_common[0, 0, ~rare] = 100.0
    r2 = run(wrong_common, truth, prior)
    assert r2["auc_rebalanced"] > r2["auc"]
    # by hand: with weights 1/p over two bins, each colour counts half in the rebalanced score
    err = float(torch.tensor([60.0, 50.0]).norm())                    # ~78.1: within t for t >= 79
    frac_t = lambda t: (60 + 4 * (t >= err)) / 64  # noqa: E731 (plain AuC of r1)
    assert r1["auc"] == pytest.approx(100 * sum(frac_t(t) for t in range(151)) / 151, abs=1e-3)
    # smoothing moves a little mass between neighbouring bins; with these two far-apart colours the weights of
    # grey and red pixels are ~1/p, so each colour's share of the weight is close to 1/2
    half = 100 * sum(0.5 + 0.5 * (t >= err) for t in range(151)) / 151
    assert r1["auc_rebalanced"] == pytest.approx(half, abs=0.5)


def test_default_prior_is_the_evaluated_sets_own():
    truth, pred = random_ab(5, n=3), random_ab(6, n=3)
    own = run(pred, truth)
    explicit = run(pred, truth, prior=ab_prior_of([truth[:1], truth[1:]]))
    assert own["auc_rebalanced"] == pytest.approx(explicit["auc_rebalanced"], abs=1e-6)
    assert own["auc"] == pytest.approx(explicit["auc"], abs=1e-9)
    assert run(truth, truth)["auc_rebalanced"] == pytest.approx(100.0)


def test_psnr():
    x = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    same = psnr(x, x)
    cap = 20 * math.log10(255)                                     # identical: capped at one 8-bit level, not inf
    torch.testing.assert_close(same, torch.full((2,), cap), atol=1e-3, rtol=0)
    y = (x + 0.1).clamp(max=2)                                     # mse = 0.01 exactly -> 20 dB
    torch.testing.assert_close(psnr(y, x), torch.full((2,), 20.0), atol=1e-3, rtol=0)
    z = x.clone()
    z[1] += 0.01                                                   # per image: image 0 identical, image 1 40 dB
    p = psnr(z, x)
    assert p[0].item() == pytest.approx(cap, abs=1e-3) and p[1].item() == pytest.approx(40.0, abs=1e-3)
    r = run(torch.zeros(2, 2, 8, 8), torch.zeros(2, 2, 8, 8), pred_rgb=y, true_rgb=x)
    assert r["psnr"] == pytest.approx(20.0, abs=1e-3)                 # averaged over images


def test_colourfulness_of_grey_is_zero():
    g = torch.rand(3, 1, 16, 16).expand(3, 3, 16, 16)
    assert torch.allclose(colourfulness(g), torch.zeros(3), atol=1e-4)
    assert colourfulness(torch.full((1, 3, 4, 4), 0.5)).item() == pytest.approx(0.0, abs=1e-6)


def test_colourfulness_of_two_colour_image_by_hand():
    """Half pure red (255, 0, 0), half pure blue (0, 0, 255), on the 0-255 scale."""
    img = torch.zeros(1, 3, 4, 4)
    img[0, 0, :, :2] = 1.0
    img[0, 2, :, 2:] = 1.0
    # rg = R - G: red 255, blue 0 -> mean 127.5, std 127.5
    # yb = (R + G) / 2 - B: red 127.5, blue -255 -> mean -63.75, std 191.25
    std = math.sqrt(127.5 ** 2 + 191.25 ** 2)
    mean = math.sqrt(127.5 ** 2 + 63.75 ** 2)
    expect = std + 0.3 * mean                                      # = 272.62
    assert colourfulness(img).item() == pytest.approx(expect, rel=1e-5)
    assert expect == pytest.approx(272.62, abs=0.01)
    # a single flat colour: no spread, only the mean term (pure red: 0.3 * sqrt(255^2 + 127.5^2))
    red = torch.zeros(1, 3, 2, 2)
    red[0, 0] = 1
    assert colourfulness(red).item() == pytest.approx(0.3 * math.hypot(255, 127.5), rel=1e-5)


def test_colourfulness_summary_in_results():
    grey = torch.full((2, 3, 4, 4), 0.5)
    colour = torch.rand(2, 3, 4, 4, generator=torch.Generator().manual_seed(0))
    ab = torch.zeros(2, 2, 4, 4)
    r = run(ab, ab, pred_rgb=grey, true_rgb=colour)
    assert r["colourfulness"] == pytest.approx(0.0, abs=1e-4)
    truth_cf = colourfulness(colour).mean().item()
    assert r["colourfulness_truth"] == pytest.approx(truth_cf, rel=1e-5)
    assert r["colourfulness_gap"] == pytest.approx(truth_cf, rel=1e-5)
    assert r["colourfulness_ratio"] == pytest.approx(0.0, abs=1e-6)
    r2 = run(ab, ab, pred_rgb=colour, true_rgb=colour)
    assert r2["colourfulness_ratio"] == pytest.approx(1.0) and r2["colourfulness_gap"] == pytest.approx(0.0, abs=1e-6)
