"""Issue 10: the on-device training batch, the uint8 loader, the candidate-table soft encoding and the
sync-free non-finite guard, each against a plain reference implementation."""
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import helpers
from tinct.color import bin_centres, encode_soft, rgb_to_lab, to_dense
from tinct.data.augment import draw_hint_points, random_resized_crop
from tinct.data.loader import BatchLoader
from tinct.data.shards import ShardDataset
from tinct.train import loop
from tinct.train.batch import make_batch, step_generator
from tinct.train.guard import NonFiniteWatch, TrainingError

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


# --- plain references: what the CPU loop did before issue 10 --------------------------------------------------
def reference_encode_soft(ab, centres, k=5, sigma=5.0):
    """Distances to every bin, then the k smallest."""
    d2 = ((ab.unsqueeze(1) - centres.view(1, -1, 2, 1, 1)) ** 2).sum(2)          # (N, Q, H, W)
    d2k, idx = d2.topk(k, dim=1, largest=False)
    return idx, torch.softmax(-d2k / (2 * sigma ** 2), dim=1)


def reference_hints(ab, g, p_none=0.5, mean_points=8.0, max_points=24, patch_sizes=(1, 3, 5, 7)):
    """Per patch size: the patch means by average pooling, the patches painted by convolution."""
    n, _, h, w = ab.shape
    active, ys, xs, sizes = draw_hint_points(n, h, w, g, p_none, mean_points, max_points, len(patch_sizes))
    total, cover = torch.zeros_like(ab), torch.zeros(n, 1, h, w)
    bidx = torch.arange(n).view(-1, 1).expand(n, max_points)
    for si, s in enumerate(patch_sizes):
        sel = active & (sizes == si)
        mean = F.avg_pool2d(ab, s, 1, s // 2, count_include_pad=False)
        b, y, x = bidx[sel], ys[sel], xs[sel]
        centre, val = torch.zeros(n, 1, h, w), torch.zeros_like(ab)
        centre[b, 0, y, x] = 1.0
        val[b, :, y, x] = mean[b, :, y, x]
        k = torch.ones(1, 1, s, s)
        cover += F.conv2d(centre, k, padding=s // 2)
        total += F.conv2d(val, k.expand(2, 1, s, s), padding=s // 2, groups=2)
    filled = cover > 0
    return torch.cat([torch.where(filled, total / cover.clamp(min=1), 0) / 110, filled.float()], 1)


def reference_batch(rgb_u8, g, centres, size, patch_sizes=(1, 3, 5, 7)):
    rgb = torch.from_numpy(rgb_u8).permute(0, 3, 1, 2).contiguous().float() / 255
    lab = rgb_to_lab(random_resized_crop(rgb, size, g))
    hints = reference_hints(lab[:, 1:], g, patch_sizes=patch_sizes)
    idx, w = reference_encode_soft(F.avg_pool2d(lab[:, 1:], 4), centres)
    return lab[:, :1], hints, to_dense(idx, w, len(centres))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("max_patch", [7, 9])
def test_device_batch_equals_the_cpu_reference(device, max_patch):
    rng = np.random.default_rng(0)
    rgb_u8 = np.stack([helpers.colourful_image(rng, 48, 48) for _ in range(6)])
    centres = bin_centres()
    for step in range(3):
        sizes = tuple(range(1, max_patch + 1, 2))
        l_ref, h_ref, z_ref = reference_batch(rgb_u8, step_generator(0, step, 0), centres, 32, sizes)
        b = make_batch(torch.from_numpy(rgb_u8), torch.zeros(6, dtype=torch.long), step_generator(0, step, 0),
                       centres, size=32, hints=True, hint_p_none=0.5, soft_k=5, soft_sigma=5.0,
                       hint_max_patch=max_patch, device=torch.device(device))
        assert b.l.device.type == device and b.index.device.type == device
        torch.testing.assert_close(b.l.cpu(), l_ref, atol=1e-4, rtol=0)
        torch.testing.assert_close(b.hints.cpu(), h_ref, atol=1e-5, rtol=0)
        torch.testing.assert_close(to_dense(b.index, b.weight, len(centres)).cpu(), z_ref, atol=1e-4, rtol=0)
        assert h_ref[:, 2].sum() > 0          # hints were drawn in this test, not only empty maps


@pytest.mark.parametrize("grid", ["gamut", "grid18"])
@pytest.mark.parametrize("k", [1, 5, 8])
def test_candidate_table_finds_the_same_nearest_bins_as_a_full_search(grid, k):
    centres = bin_centres(grid)
    g = torch.Generator().manual_seed(k)
    ab = torch.rand(2, 2, 40, 40, generator=g) * 254 - 127              # the whole table range, out of gamut too
    real = rgb_to_lab(torch.rand(2, 3, 40, 40, generator=g))[:, 1:]     # and real sRGB colours
    for x in (ab, real):
        got = to_dense(*encode_soft(x, centres, k), len(centres))
        want = to_dense(*reference_encode_soft(x, centres, k), len(centres))
        torch.testing.assert_close(got, want, atol=1e-4, rtol=0)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return helpers.make_dataset(tmp_path_factory.mktemp("loader"), n=30, size=16, shard_size=7)


def test_loader_yields_each_steps_records_in_order(dataset):
    ds = ShardDataset(dataset)
    rng = np.random.default_rng(1)
    plan = {s: rng.integers(0, len(ds), 5) for s in range(12)}
    seen = []
    with BatchLoader(ds, plan.__getitem__, 2, 12, prefetch=3, workers=2) as loader:
        prev = None
        for step, rgb, labels in loader:
            want, want_labels = ds.batch(plan[step])
            np.testing.assert_array_equal(rgb.numpy(), want)
            np.testing.assert_array_equal(labels.numpy(), want_labels)
            if prev is not None:      # the previous step's batch is still intact during this step
                np.testing.assert_array_equal(prev[1].numpy(), ds.batch(plan[prev[0]])[0])
            prev = (step, rgb)
            seen.append(step)
    assert seen == list(range(2, 12))


def test_read_into_rejects_bad_requests(dataset):
    ds = ShardDataset(dataset)
    with pytest.raises(IndexError):
        ds.batch([0, len(ds)])
    with pytest.raises(ValueError, match="C-contiguous"):
        ds.read_into([0, 1], np.empty((3, 16, 16, 3), np.uint8))
    assert len(ds.batch([]) [0]) == 0


def test_non_finite_watch_names_the_first_bad_step():
    watch = NonFiniteWatch(torch.device("cpu"))
    watch.update(0, torch.tensor(1.0), torch.tensor(2.0))
    watch.check("ck.pt")                                   # all finite: nothing raised
    watch.update(1, torch.tensor(1.0), torch.tensor(float("inf")))
    watch.update(2, torch.tensor(float("nan")), torch.tensor(1.0))
    with pytest.raises(TrainingError, match=r"gradient norm became inf at step 1; .*ck\.pt"):
        watch.check("ck.pt")


def test_resume_keeps_one_validation_record_per_step(tmp_path, monkeypatch):
    data = helpers.make_dataset(tmp_path / "d", n=24, size=32)
    from tinct.cli.main import main
    real_save = loop.save_checkpoint

    def crash_at_6(run, state):
        if state["step"] == 6:
            raise KeyboardInterrupt     # steps 5 and 6 were validated, the last checkpoint is step 4's
        real_save(run, state)

    args = dict(val_every=1, ckpt_every=2, val_images=4)
    monkeypatch.setattr(loop, "save_checkpoint", crash_at_6)
    assert main(helpers.tiny_train_args(data, tmp_path / "run", 6, **args)) == 130
    monkeypatch.setattr(loop, "save_checkpoint", real_save)
    # the resume redoes steps 5 and 6: their first records must go
    assert main(helpers.tiny_train_args(data, tmp_path / "run", 6, resume=None, **args)) == 0
    steps = [json.loads(ln)["step"] for ln in (tmp_path / "run" / "val.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5, 6]


def test_loader_waits_for_a_slots_device_copy_before_refilling_it(dataset):
    """The CUDA path: a slot whose non-blocking copy was recorded is refilled only after that copy's event."""
    ds = ShardDataset(dataset)

    class FakeEvent:
        def __init__(self):
            self.waited = False

        def synchronize(self):
            self.waited = True

    events = {}
    with BatchLoader(ds, lambda s: np.arange(4) + s, 0, 8, prefetch=1, workers=1) as loader:
        for step, rgb, _ in loader:
            events[step] = FakeEvent()
            loader.copied(step, events[step])
    slots = loader.slots
    assert all(events[s].waited for s in range(8 - slots))          # each reused slot's copy was waited for
    assert not any(events[s].waited for s in range(8 - 1, 8))       # the last slot was never refilled


def test_a_small_dataset_trains_with_a_holdout_that_fits(tmp_path, capsys):
    """120 photos and the default --holdout 500: the holdout shrinks to a fifth and says so."""
    from tinct.cli.main import main
    from tinct.data.splits import fit_holdout
    assert [fit_holdout(n, 500) for n in (0, 1, 2, 120, 10_000)] == [0, 0, 1, 24, 500]
    data = helpers.make_dataset(tmp_path / "d", n=120, size=32, shard_size=60)
    args = helpers.tiny_train_args(data, tmp_path / "run", 2)
    i = args.index("--holdout")
    del args[i:i + 2]                                     # the default, 500
    assert main(args) == 0
    assert "holding out 24 (a fifth)" in capsys.readouterr().err
