"""ab bins (grids, hard/soft encoding, decoding) and the class-rebalancing prior and weights."""
import math

import pytest
import torch

from tinct.color import (bin_centres, decode, encode_hard, encode_soft, histogram, lab_to_rgb, rebalance_weights,
                         rgb_to_lab, smooth_prior, to_dense)


def ab_of(points) -> torch.Tensor:
    """[(a, b), ...] -> (1, 2, 1, P)."""
    return torch.tensor(points, dtype=torch.float32).T.reshape(1, 2, 1, -1)


# --- grids ----------------------------------------------------------------------------------------------

def test_bin_counts():
    assert bin_centres("gamut").shape == (257, 2)
    assert bin_centres("grid18").shape == (324, 2)
    assert bin_centres("srgb").shape == (261, 2)
    assert bin_centres().shape == (261, 2)        # new models: the cells 8-bit sRGB reaches
    with pytest.raises(ValueError):
        bin_centres("nope")


def test_grids_are_regular_and_unique():
    g = bin_centres("gamut")
    assert torch.equal(g, g.round()) and torch.equal(g % 10, torch.zeros_like(g))
    assert len({tuple(x) for x in g.tolist()}) == 257
    assert g.abs().max() <= 120
    g18 = bin_centres("grid18")
    step = 220 / 18
    assert torch.allclose(torch.unique(g18[:, 0]), -110 + step / 2 + step * torch.arange(18.0), atol=1e-4)
    assert len({tuple(x) for x in g18.tolist()}) == 324
    # a returned tensor is a copy: mutating it does not corrupt the cache
    g[0] = 999
    assert bin_centres("gamut")[0, 0] != 999


def _cell_has_in_gamut_colour(a: float, b: float, half: float = 5.0) -> bool:
    """Some L in 0..100 and ab in the cell [a +- half] x [b +- half] (1-unit grid) survives Lab -> sRGB -> Lab."""
    off = torch.arange(-half, half + 1e-9, 1.0, dtype=torch.float64)
    A, B, L = torch.meshgrid(a + off, b + off, torch.arange(0, 100.5, 1.0, dtype=torch.float64), indexing="ij")
    lab = torch.stack([L.flatten(), A.flatten(), B.flatten()]).view(3, 1, -1)
    back = rgb_to_lab(lab_to_rgb(lab))  # lab_to_rgb clamps out-of-gamut colours, which then come back different
    return bool(((back - lab).norm(dim=0) < 1e-3).any())


def test_gamut_cells_contain_an_in_gamut_colour_and_no_in_gamut_cell_is_missing():
    kept = {tuple(x) for x in bin_centres("gamut").tolist()}
    for a in range(-120, 121, 10):
        for b in range(-120, 121, 10):
            if (a, b) in kept:
                assert _cell_has_in_gamut_colour(a, b), (a, b)
            else:  # (cell interior only: boundary ties may go to either neighbour)
                assert not _cell_has_in_gamut_colour(a, b, half=4.0), (a, b)


def test_gamut_covers_real_colours():
    """Every sRGB colour's ab is within half a cell diagonal of some bin centre."""
    rgb = torch.rand(3, 64, 64, generator=torch.Generator().manual_seed(0))
    ab = rgb_to_lab(rgb)[1:].unsqueeze(0)
    c = bin_centres("gamut")
    idx = encode_hard(ab, c)
    d = (ab - c[idx].permute(0, 3, 1, 2)).norm(dim=1)
    assert d.max() <= 5 * math.sqrt(2) + 1e-4


# --- hard and soft encoding --------------------------------------------------------------------------------

@pytest.mark.parametrize("grid", ["gamut", "grid18"])
def test_encode_hard_of_a_centre_is_that_centre(grid):
    c = bin_centres(grid)
    ab = c.T.reshape(1, 2, 1, -1)
    assert torch.equal(encode_hard(ab, c), torch.arange(len(c)).view(1, 1, -1))
    # and a small nudge does not change it
    assert torch.equal(encode_hard(ab + 2.0, c), torch.arange(len(c)).view(1, 1, -1))


def test_encode_hard_shape_and_nearest():
    c = bin_centres("gamut")
    ab = torch.randn(2, 2, 3, 5, generator=torch.Generator().manual_seed(8)) * 40
    idx = encode_hard(ab, c)
    assert idx.shape == (2, 3, 5) and idx.dtype == torch.int64
    pts = ab.permute(0, 2, 3, 1).reshape(-1, 2)
    brute = torch.cdist(pts.double(), c.double()).argmin(1)
    assert torch.equal(idx.flatten(), brute)


def test_soft_encoding_k_nearest_sum_one_and_ordered():
    c = bin_centres("gamut")
    ab = torch.randn(2, 2, 4, 4, generator=torch.Generator().manual_seed(0)) * 30
    idx, w = encode_soft(ab, c, k=5, sigma=5.0)
    assert idx.shape == w.shape == (2, 5, 4, 4)
    torch.testing.assert_close(w.sum(1), torch.ones(2, 4, 4))
    pts = ab.permute(0, 2, 3, 1).reshape(-1, 2).double()
    d = torch.cdist(pts, c.double())
    brute = d.topk(5, dim=1, largest=False).indices
    got = idx.permute(0, 2, 3, 1).reshape(-1, 5)
    assert torch.equal(got.sort(1).values, brute.sort(1).values)   # the 5 nearest (as a set)
    assert torch.equal(got[:, 0], encode_hard(ab, c).flatten())    # nearest first
    ww = w.permute(0, 2, 3, 1).reshape(-1, 5)
    assert (ww[:, :-1] >= ww[:, 1:] - 1e-7).all()                   # weights fall with distance
    # Gaussian weights: w_i proportional to exp(-d_i^2 / (2 sigma^2))
    dk = torch.gather(d, 1, got).float()
    expect = torch.softmax(-dk ** 2 / 50.0, 1)
    torch.testing.assert_close(ww, expect, atol=1e-5, rtol=1e-4)


def test_soft_encoding_of_a_centre_explicit_numbers():
    c = bin_centres("gamut")
    idx, w = encode_soft(ab_of([(0.0, 0.0)]), c, k=5, sigma=5.0)
    got = {tuple(c[i].tolist()) for i in idx.flatten()}
    assert got == {(0.0, 0.0), (10.0, 0.0), (-10.0, 0.0), (0.0, 10.0), (0.0, -10.0)}
    e = math.exp(-100 / 50)
    assert w[0, 0, 0, 0].item() == pytest.approx(1 / (1 + 4 * e), rel=1e-5)
    torch.testing.assert_close(w[0, 1:, 0, 0], torch.full((4,), e / (1 + 4 * e)))


def test_sigma_effect():
    c = bin_centres("gamut")
    ab = ab_of([(3.0, -2.0), (21.0, 37.0)])
    _, w_small = encode_soft(ab, c, k=5, sigma=1.0)
    _, w_mid = encode_soft(ab, c, k=5, sigma=5.0)
    _, w_big = encode_soft(ab, c, k=5, sigma=1e4)
    assert (w_small[:, 0] > w_mid[:, 0]).all()                     # narrower -> more weight on the nearest
    assert (w_small[:, 0] > 0.99).all()                            # sigma -> 0: hard encoding
    torch.testing.assert_close(w_big, torch.full_like(w_big, 0.2), atol=1e-4, rtol=0)  # sigma -> inf: uniform


def test_soft_encoding_k1_is_hard():
    c = bin_centres("grid18")
    ab = torch.randn(1, 2, 3, 3, generator=torch.Generator().manual_seed(9)) * 50
    idx, w = encode_soft(ab, c, k=1)
    assert torch.equal(idx[:, 0], encode_hard(ab, c)) and torch.equal(w, torch.ones_like(w))


def test_to_dense():
    c = bin_centres("gamut")
    ab = torch.randn(2, 2, 3, 3, generator=torch.Generator().manual_seed(10)) * 30
    idx, w = encode_soft(ab, c)
    dense = to_dense(idx, w, len(c))
    assert dense.shape == (2, 257, 3, 3)
    torch.testing.assert_close(dense.sum(1), torch.ones(2, 3, 3))
    assert ((dense > 0).sum(1) == 5).all()
    torch.testing.assert_close(dense.gather(1, idx), w)


# --- decoding ----------------------------------------------------------------------------------------------

def one_hot_logits(q, bins, big=30.0):
    """(1, Q, 1, P) logits: pixel p has a sharp peak on bins[p]."""
    x = torch.zeros(1, q, 1, len(bins))
    for p, b in enumerate(bins):
        x[0, b, 0, p] = big
    return x


@pytest.mark.parametrize("grid", ["gamut", "grid18"])
def test_decode_mode_of_one_hot_is_that_centre(grid):
    c = bin_centres(grid)
    bins = [0, 17, len(c) // 2, len(c) - 1]
    ab = decode(one_hot_logits(len(c), bins), c, "mode")
    assert ab.shape == (1, 2, 1, 4)
    torch.testing.assert_close(ab[0, :, 0].T, c[bins])


def test_decode_mean_of_two_bins_is_midpoint():
    c = bin_centres("gamut")
    i, j = 10, 200
    logits = torch.full((1, len(c), 1, 1), -1e4)
    logits[0, [i, j]] = 0.0
    ab = decode(logits, c, "mean")[0, :, 0, 0]
    torch.testing.assert_close(ab, (c[i] + c[j]) / 2)
    # and an uneven split p = (0.25, 0.75) gives the matching point
    logits[0, j] = math.log(3)
    torch.testing.assert_close(decode(logits, c, "mean")[0, :, 0, 0], 0.25 * c[i] + 0.75 * c[j])


def test_decode_annealed_limits():
    c = bin_centres("gamut")
    logits = torch.randn(2, len(c), 3, 3, generator=torch.Generator().manual_seed(0)) * 2
    mean = decode(logits, c, "mean")
    mode = decode(logits, c, "mode")
    torch.testing.assert_close(decode(logits, c, "annealed", temperature=1.0), mean, atol=1e-4, rtol=1e-5)
    torch.testing.assert_close(decode(logits, c, "annealed", temperature=1e-3), mode, atol=1e-2, rtol=0)
    # in between, the annealed mean moves from the mean toward the mode as T falls
    d = [(decode(logits, c, "annealed", temperature=t) - mode).norm() for t in (1.0, 0.38, 0.1)]
    assert d[0] > d[1] > d[2]
    with pytest.raises(ValueError):
        decode(logits, c, "annealed", temperature=0.0)
    with pytest.raises(ValueError):
        decode(logits, c, "median")


def test_decode_log_prior_shift():
    c = bin_centres("gamut")
    q = len(c)
    logits = torch.randn(1, q, 2, 2, generator=torch.Generator().manual_seed(1))
    shift = torch.randn(q, generator=torch.Generator().manual_seed(2))
    for method in ("mode", "mean", "annealed"):
        shifted = decode(logits, c, method, 0.38, log_prior_shift=shift)
        torch.testing.assert_close(shifted, decode(logits + shift.view(1, -1, 1, 1), c, method, 0.38))
        # a constant shift changes nothing (softmax / argmax invariance)
        torch.testing.assert_close(decode(logits, c, method, 0.38, log_prior_shift=torch.full((q,), 7.0)),
                                   decode(logits, c, method, 0.38))
    # a strong enough shift toward one bin moves the decoded colour onto it
    boost = torch.zeros(q)
    boost[5] = 100.0
    torch.testing.assert_close(decode(logits, c, "mode", log_prior_shift=boost), c[5].view(1, 2, 1, 1).expand(1, 2, 2, 2))
    # undoing rebalancing weights (shift = -log w) pulls the decoded colour toward the common bins
    pr = torch.full((q,), 1e-4)
    pr[encode_hard(ab_of([(0.0, 0.0)]), c).item()] = 1.0
    pr = pr / pr.sum()
    w = rebalance_weights(pr, 0.5, 1.0)
    flat = torch.zeros(1, q, 1, 1)
    plain = decode(flat, c, "mean")
    corrected = decode(flat, c, "mean", log_prior_shift=-w.log())
    assert corrected.norm() < plain.norm() or plain.norm() < 1e-6
    # ... and the uniform distribution's mean is (nearly) the centroid of the bins
    torch.testing.assert_close(plain[0, :, 0, 0], c.mean(0), atol=1e-4, rtol=0)


def test_decode_accepts_bf16_and_returns_float():
    c = bin_centres("grid18")
    out = decode(torch.randn(1, len(c), 2, 2).bfloat16(), c)
    assert out.dtype == torch.float32 and out.shape == (1, 2, 2, 2)


# --- prior and rebalancing ---------------------------------------------------------------------------------

def test_histogram_counts_pixels():
    c = bin_centres("gamut")
    ab = torch.randn(2, 2, 8, 8, generator=torch.Generator().manual_seed(11)) * 30
    h = histogram(ab, c)
    assert h.shape == (257,) and h.sum() == 2 * 8 * 8
    assert torch.equal(h, torch.bincount(encode_hard(ab, c).flatten(), minlength=257).double())


def test_prior_sums_to_one_and_smoothing_preserves_it():
    c = bin_centres("gamut")
    counts = histogram(torch.randn(4, 2, 16, 16, generator=torch.Generator().manual_seed(7)) * 25, c)
    raw = smooth_prior(counts, c, sigma=0)
    sm = smooth_prior(counts, c, sigma=5.0)
    assert raw.sum().item() == pytest.approx(1.0, abs=1e-6)
    assert sm.sum().item() == pytest.approx(1.0, abs=1e-6)
    torch.testing.assert_close(raw.double(), counts / counts.sum(), atol=1e-7, rtol=1e-5)
    assert (sm >= 0).all()
    # smoothing spreads mass: a single occupied bin keeps most but gives some to its 4 neighbours
    one = torch.zeros(257, dtype=torch.float64)
    k = encode_hard(ab_of([(0.0, 0.0)]), c).item()
    one[k] = 10
    s1 = smooth_prior(one, c, 5.0)
    assert s1.argmax().item() == k and 0.3 < s1[k] < 0.9
    neighbours = ((c - c[k]).norm(dim=1) - 10).abs() < 1e-4
    assert neighbours.sum() == 4 and (s1[neighbours] > 0.01).all()
    assert s1[neighbours].std() < 1e-6     # symmetric


@pytest.mark.parametrize("lam,power", [(0.5, 1.0), (0.0, 1.0), (0.2, 0.5), (0.9, 2.0)])
def test_rebalance_weights_have_unit_expectation(lam, power):
    c = bin_centres("gamut")
    prior = smooth_prior(histogram(torch.randn(4, 2, 16, 16, generator=torch.Generator().manual_seed(7)) * 25, c), c)
    w = rebalance_weights(prior, lam, power)
    assert w.shape == (257,) and (w > 0).all()
    assert (prior.double() * w.double()).sum().item() == pytest.approx(1.0, abs=1e-5)


def test_rebalance_special_cases_and_ordering():
    c = bin_centres("gamut")
    prior = smooth_prior(histogram(torch.randn(4, 2, 16, 16, generator=torch.Generator().manual_seed(7)) * 25, c), c)
    torch.testing.assert_close(rebalance_weights(prior, 0.5, power=0.0), torch.ones(257))    # off
    torch.testing.assert_close(rebalance_weights(prior, 1.0, power=1.0), torch.ones(257))    # uniform mix
    w = rebalance_weights(prior, 0.5, 1.0)
    common, rare = prior.argmax(), prior.argmin()
    assert w[rare] > w[common]
    # weights are a decreasing function of the prior
    order = prior.argsort()
    assert (w[order][1:] <= w[order][:-1] + 1e-6).all()
    # the paper's formula, by hand: w ~ 1 / ((1 - lam) p + lam / Q), normalized so E_p[w] = 1
    raw = 1 / (0.5 * prior.double() + 0.5 / 257)
    torch.testing.assert_close(w.double(), raw / (prior.double() * raw).sum(), rtol=1e-5, atol=1e-6)
    # lam = 0 on a strictly positive prior: w = 1 / (Q p) (then E_p[w] = 1 exactly)
    pos = (prior.double() + 1e-3) / (prior.double() + 1e-3).sum()
    w0 = rebalance_weights(pos, 0.0, 1.0)
    torch.testing.assert_close(w0.double(), 1 / (257 * pos), rtol=1e-4, atol=1e-6)
    # lam = 0 on a prior with empty bins (only greys seen: far colours get exactly 0): still finite, E_p[w] = 1
    grey = smooth_prior(histogram(torch.zeros(1, 2, 4, 4), c), c)
    assert (grey == 0).any()
    wz = rebalance_weights(grey, 0.0, 1.0)
    assert torch.isfinite(wz).all() and wz[grey == 0].min() == wz.max() > wz[grey.argmax()]
    assert (grey.double() * wz.double()).sum().item() == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError):
        rebalance_weights(prior, 1.5, 1.0)
