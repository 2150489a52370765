"""Decode tuning's choice rules (``python -m tinct.evaluate.tune``): constraints, and which network size is stored."""
from tinct.evaluate.tune import _size_to_store, pick


def row(size, t, auc, psnr=0.5, cf=0.9, beta=0.0):
    return {"size": size, "temperature": t, "correction": beta, "auc_rb_gain": auc, "psnr_gap": psnr,
            "colourfulness_ratio": cf, "auc_gain": 1.0}


def test_pick_maximizes_rebalanced_auc_within_constraints():
    rows = [row(128, 0.38, 5.0), row(128, 0.5, 6.0), row(128, 0.7, 9.0, psnr=-2.0), row(128, 1.0, 8.0, cf=0.5)]
    assert pick(rows, psnr_margin=0.5, cf_range=(0.7, 1.2))["temperature"] == 0.5
    assert pick(rows, psnr_margin=3.0, cf_range=(0.7, 1.2))["temperature"] == 0.7
    assert pick(rows, psnr_margin=0.0, cf_range=(2.0, 3.0)) is None


def test_tied_sizes_keep_the_models_size():
    # small held-out images are never enlarged: sizes 128 and 256 score the same, so the data cannot choose
    tied = [row(128, 1.0, 6.0), row(256, 1.0, 6.0), row(128, 0.5, 5.0), row(256, 0.5, 5.0)]
    best = pick(tied, 0.5, (0.7, 1.2))
    assert _size_to_store(tied, best, current=256) == 256
    assert _size_to_store(tied, best, current=128) == 128
    # a real difference is stored
    differ = [row(128, 1.0, 6.0), row(256, 1.0, 4.0)]
    assert _size_to_store(differ, pick(differ, 0.5, (0.7, 1.2)), current=256) == 128
