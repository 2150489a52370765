"""Issue 28: old-print damage on the training input (data/degrade.py) and its place in the training batch."""
import torch
import torch.nn.functional as F

from tinct.color import bin_centres
from tinct.data.degrade import degrade_l
from tinct.train.batch import make_batch, step_generator


def _photos(n=16, size=64, seed=0):
    """Smooth random 'photos' in L: a low-resolution field upsampled, so damage is the only fine detail."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 1, 8, 8, generator=g) * 80 + 10
    return F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)


def test_zero_share_is_the_identity_and_draws_nothing():
    l, g = _photos(), torch.Generator().manual_seed(1)
    state = g.get_state()
    assert degrade_l(l, g, 0.0) is l
    assert torch.equal(g.get_state(), state)


def test_every_image_damaged_within_range_and_reproducible():
    l = _photos()
    a = degrade_l(l, torch.Generator().manual_seed(5), 1.0)
    b = degrade_l(l, torch.Generator().manual_seed(5), 1.0)
    c = degrade_l(l, torch.Generator().manual_seed(6), 1.0)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == l.shape and a.min() >= 0 and a.max() <= 100
    assert all(not torch.equal(a[i], l[i]) for i in range(len(l)))
    # fine detail appears (grain, cracks, spots) where the photo had none ...
    def detail(t):
        return (t - F.avg_pool2d(t, 5, 1, 2, count_include_pad=False)).abs().mean((1, 2, 3))
    assert (detail(a) > 1.5 * detail(l)).all()
    # ... but the picture stays the same picture: its coarse tones keep their order
    ca, cl = F.avg_pool2d(a, 16).flatten(1), F.avg_pool2d(l, 16).flatten(1)
    corr = [torch.corrcoef(torch.stack([ca[i], cl[i]]))[0, 1] for i in range(len(l))]
    assert min(corr) > 0.6 and sum(corr) / len(corr) > 0.85


def test_a_share_of_the_batch_only_and_the_rest_bit_identical():
    l = _photos(n=200)
    out = degrade_l(l, torch.Generator().manual_seed(2), 0.5)
    same = torch.tensor([torch.equal(out[i], l[i]) for i in range(len(l))])
    assert 60 < int(same.sum()) < 140


def test_training_batch_damages_the_input_only():
    """The targets, hints and crops of a step are the clean photo's whatever the damage share."""
    rgb = torch.randint(0, 256, (6, 48, 48, 3), dtype=torch.uint8)
    labels = torch.full((6,), -1)
    centres = bin_centres("gamut")
    kw = dict(size=32, hints=True, hint_p_none=0.5, soft_k=5, soft_sigma=5.0, device=torch.device("cpu"))
    clean = make_batch(rgb, labels, step_generator(0, 7, 0), centres, **kw)
    old = make_batch(rgb, labels, step_generator(0, 7, 0), centres, degrade=1.0, **kw)
    for name in ("hints", "index", "weight", "ab"):
        assert torch.equal(getattr(clean, name), getattr(old, name)), name
    assert not torch.equal(clean.l, old.l)
