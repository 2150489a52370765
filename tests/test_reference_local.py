"""Local correspondence for reference colours (issue 27, step 3): the reference's colours go where the photo's
encoder features match the reference's, with a confidence; elsewhere the per-band histograms stay in charge."""
from __future__ import annotations

import numpy as np
import torch

from test_reference import mean_ab
from tinct.pipeline import correspondence as C
from tinct.pipeline import reference_local


def two_textures(w: int = 192, h: int = 128) -> np.ndarray:
    """Grey: fine horizontal stripes on the left half, coarse checks on the right; the same lightnesses on both
    sides, so no histogram (global or per band) can tell them apart, but local features can."""
    y, x = np.mgrid[:h, :w]
    left = np.where((y // 3) % 2, 170, 90)
    right = np.where(((x // 12) + (y // 12)) % 2, 170, 90)
    g = np.where(x < w // 2, left, right).astype(np.uint8)
    return np.repeat(g[:, :, None], 3, 2)


def coloured(grey: np.ndarray) -> np.ndarray:
    """The same picture in colour: its left half red, its right half blue (lightness roughly kept)."""
    g = grey[:, :, 0].astype(float) / 255
    w = grey.shape[1]
    red, blue = np.array([230, 60, 50]), np.array([50, 90, 230])
    tint = np.where((np.arange(w) < w // 2)[None, :, None], red, blue)
    return (tint * (0.35 + 0.75 * g[:, :, None])).clip(0, 255).astype(np.uint8)


def test_local_ratio_takes_the_matched_locations_colours():
    feats = torch.eye(6)[:, :5]                                                # 5 reference locations
    codes = torch.eye(5, 7)                                                    # location i: all mass in bin i
    match = C.ReferenceMatch(feats, codes)
    photo = feats[:, [3, 0]].reshape(1, 6, 1, 2)                               # the photo = locations 3, 0
    prior = torch.full((7,), 1 / 7)
    ratio, conf = C.local_ratio(photo, match, prior, k=1)
    assert ratio.shape == (1, 7, 1, 2) and torch.allclose(conf, torch.ones(1, 1, 1, 2))
    assert ratio[0, :, 0, 0].argmax() == 3 and ratio[0, :, 0, 1].argmax() == 0
    far = C.local_ratio(torch.eye(6)[:, 5].reshape(1, 6, 1, 1), match, prior, k=1)[1]   # alike nothing
    assert float(far.max()) == 0


def test_local_correspondence_puts_each_colour_where_its_texture_is(colorizer, monkeypatch):
    grey = two_textures()
    ref = coloured(grey)
    local = colorizer.colorize(grey, reference=ref, reference_strength=1)
    monkeypatch.setattr(reference_local, "LOCAL", False)
    band = colorizer.colorize(grey, reference=ref, reference_strength=1)
    half = grey.shape[1] // 2
    (la, lb), (ra, rb) = mean_ab(local[:, :half]), mean_ab(local[:, half:])
    (ba, bb), (bra, brb) = mean_ab(band[:, :half]), mean_ab(band[:, half:])
    assert la > ra + 5 and lb - rb > 30              # red (a*, b* up) left, blue (b* down) right
    assert (lb - rb) > (bb - brb) + 20               # the histograms alone cannot separate them


def test_the_photo_is_encoded_once(colorizer):
    """The local step reuses the features of the photo's own forward pass: one encoder pass per photo (after
    the reference's own, cached)."""
    grey, ref = two_textures(), coloured(two_textures())
    colorizer.colorize(grey, reference=ref)             # the reference analysed and matched once
    calls = []
    handle = colorizer.net.encoder.register_forward_hook(lambda *a: calls.append(1))
    try:
        for _ in range(2):
            colorizer.colorize(grey, reference=ref)
    finally:
        handle.remove()
    assert len(calls) == 2


def test_a_palette_and_a_network_without_encoder_fall_back_to_histograms(colorizer, monkeypatch):
    grey = two_textures()
    pal = colorizer.colorize(grey, palette=["#e63c32"], reference_strength=0.5)
    assert mean_ab(pal)[0] > mean_ab(colorizer.colorize(grey))[0] + 5
    monkeypatch.setattr(C, "install_capture", lambda net: False)
    ref = coloured(grey)
    out = colorizer.colorize(grey, reference=ref, reference_strength=0.5)
    monkeypatch.setattr(reference_local, "LOCAL", False)
    assert np.array_equal(out, colorizer.colorize(grey, reference=ref, reference_strength=0.5))


def _channels_last_logits(colorizer, grey):
    l = colorizer.network_input(grey, colorizer.options().size)
    return l, colorizer.forward_logits(l, None)


def test_reweighted_logits_keep_the_bins_innermost(colorizer):
    """The network's logits come channels-last (the bins innermost), and the decode wants them so: the
    re-weighted logits keep that layout (no strided pass over every term, no copy in the decode), for a photo
    reference (local + bands) and a palette (bands)."""
    grey = two_textures()
    l, logits = _channels_last_logits(colorizer, grey)
    assert logits.permute(0, 2, 3, 1).is_contiguous()
    for kw in (dict(reference=coloured(grey)), dict(palette=["#e63c32", "#3250e6"])):
        opts = colorizer.options(**kw)
        colorizer.forward_logits(l, None)                  # leaves the photo's features for the local step
        out = colorizer.reweight(logits, opts, l)
        assert out.shape == logits.shape and out.permute(0, 2, 3, 1).is_contiguous()


def test_the_reweighting_is_the_documented_mix(colorizer, monkeypatch):
    """``logits + S * v * ((1 - c) * sum_b w_b(L) ratio_b + c * GAIN * local_ratio)``, computed here the slow
    way (``v``: the share in view, from the mean confidence)."""
    import torch.nn.functional as F
    from tinct.color.ab_histogram import band_weights
    grey = two_textures()
    l, logits = _channels_last_logits(colorizer, grey)
    opts = colorizer.options(reference=coloured(grey), reference_strength=0.7)
    colorizer.forward_logits(l, None)
    out = colorizer.reweight(logits, opts, l)
    with torch.inference_mode():
        feats = C.describe(colorizer.net.encoder(l))
        match = reference_local._match(colorizer, opts.reference, opts.size)
        prior = colorizer.model.prior
        local, conf = C.local_term(feats, match, prior, logits.shape[-2:])
        ls = F.interpolate(l.float(), size=logits.shape[-2:], mode="area")[:, 0]
        w = band_weights(ls, opts.reference.bands) * (1 - conf[:, 0])
        bands = torch.einsum("bnhw,bq->nqhw", w, opts.reference.log_ratio(prior))
    v = min(1.0, max(reference_local.MATCH_FLOOR, float(conf.mean()) / reference_local.MATCH_FULL))
    assert torch.allclose(out, logits + 0.7 * v * (bands + local), atol=1e-4)


def test_a_reference_not_in_view_steers_less_but_still_steers(colorizer, monkeypatch):
    """Where the photo matches nothing of the reference (a film's shot after a cut, an unrelated photo) the
    reference steers at MATCH_FLOOR of its strength; from a mean match confidence of MATCH_FULL on, fully."""
    grey = two_textures()
    l, logits = _channels_last_logits(colorizer, grey)
    opts = colorizer.options(reference=coloured(grey), reference_strength=1)
    bands = reference_local.reweight_logits(logits, l, opts.reference.log_ratio(colorizer.model.prior),
                                            opts.reference.bands, 1) - logits        # the histograms' term
    for mean_conf, share in [(0.0, reference_local.MATCH_FLOOR), (0.1, reference_local.MATCH_FLOOR),
                             (0.4, 0.8), (reference_local.MATCH_FULL, 1.0), (0.9, 1.0)]:
        conf = torch.full((1, 1, *logits.shape[-2:]), mean_conf)
        monkeypatch.setattr(C, "local_term", lambda *a, **k: (torch.zeros_like(logits), conf))
        out = colorizer.reweight(logits, opts, l)
        assert torch.allclose(out - logits, share * (1 - mean_conf) * bands, atol=1e-4), mean_conf
    assert 0 < reference_local.MATCH_FLOOR < 1


def test_the_similarity_product_in_bf16_matches_fp32(monkeypatch):
    """Where the CPU multiplies bf16 natively the similarity product runs in bf16: the same matches and
    confidences as fp32, within bf16's rounding."""
    g = torch.Generator().manual_seed(0)
    ref = torch.nn.functional.normalize(torch.randn(32, 300, generator=g), dim=0)
    photo = torch.nn.functional.normalize(ref[:, :64] + 0.3 * torch.randn(32, 64, generator=g), dim=0)
    match = C.ReferenceMatch(ref, torch.softmax(torch.randn(300, 20, generator=g), 1))
    prior = torch.full((20,), 1 / 20)
    res = {}
    for native in (False, True):
        monkeypatch.setattr(C, "native_bf16", lambda: native)
        res[native] = C.local_ratio(photo.reshape(1, 32, 8, 8), match, prior)
    assert torch.allclose(res[True][1], res[False][1], atol=0.02)
    assert float((res[True][0] - res[False][0]).abs().mean()) < 0.02   # a near tie may swap the k-th match
