"""``tinct train`` end to end on tiny generated data: learning, run outputs, exact resume, NaN stop, SIGKILL."""
import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import helpers
import tinct
from tinct.cli.main import main
from tinct.color import bin_centres
from tinct.train import loop
from tinct.train.checkpoint import load_checkpoint


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return helpers.make_dataset(tmp_path_factory.mktemp("train-data"), n=24, size=32)


@pytest.fixture(scope="module")
def labelled_data(tmp_path_factory):
    return helpers.make_labelled_dataset(tmp_path_factory.mktemp("train-mp"), n_per_class=5, n_val=3)


def train_cli(data, out, steps=6, expect=0, **extra):
    rc = main(helpers.tiny_train_args(data, out, steps, **extra))
    assert rc == expect
    return Path(out)


def losses(run) -> np.ndarray:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    ea = EventAccumulator(str(Path(run) / "tensorboard"))
    ea.Reload()
    # by step: a resumed run writes a second event file, which may carry the same second in its name
    return np.array([e.value for e in sorted(ea.Scalars("train/loss_per_image"), key=lambda e: e.step)])


def final_state(run):
    ck = load_checkpoint(run)
    return ck["step"], ck["model"], ck["optimizer"]


def assert_same_state(a, b):
    step_a, model_a, opt_a = a
    step_b, model_b, opt_b = b
    assert step_a == step_b
    assert model_a.keys() == model_b.keys()
    for k in model_a:
        assert torch.equal(model_a[k], model_b[k]), k
    for pid, st in opt_a["state"].items():
        for k, v in st.items():
            assert torch.equal(v, opt_b["state"][pid][k]), (pid, k)


def test_training_lowers_the_loss(data, tmp_path):
    run = train_cli(data, tmp_path / "run", steps=60, lr="1e-2", ckpt_every=20)
    curve = losses(run)
    assert len(curve) == 60 and np.isfinite(curve).all()
    first, last = curve[:15].mean(), curve[-15:].mean()
    assert last < first - 0.2, (first, last)
    assert first < np.log(261) * 1.5                  # starts near chance (rebalanced), not wildly off


def test_run_outputs(data, tmp_path, capsys):
    run = train_cli(data, tmp_path / "run", steps=4, image_every=2, val_every=2)
    out = capsys.readouterr().out
    assert "step 4: rebalanced AuC" in out
    names = {p.name for p in run.iterdir()}
    assert {"model.safetensors", "checkpoint.pt", "config.json", "prior.json", "val.jsonl", "images",
            "tensorboard"} <= names
    assert not list(run.glob("*.tmp")) and not list(run.glob(".tinct-*"))
    pngs = sorted(p.name for p in (run / "images").glob("*.png"))
    assert pngs == ["step_0000002.png", "step_0000004.png"]
    from PIL import Image
    grid = Image.open(run / "images" / pngs[-1])
    assert grid.mode == "RGB" and grid.width == 3 * (32 + 2) and grid.height == 4 * (32 + 2)  # 4 held-out images
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["steps"] == 4 and cfg["model"]["arch"] == "classic" and cfg["model"]["width"] == 0.125
    vals = [json.loads(line) for line in (run / "val.jsonl").read_text().splitlines()]
    assert [v["step"] for v in vals] == [2, 4]
    assert 0 <= vals[-1]["model"]["auc"] <= 100 and "auc_rebalanced" in vals[-1]["grey"]
    prior = json.loads((run / "prior.json").read_text())
    assert len(prior["prior"]) == len(bin_centres()) == 261 and sum(prior["prior"]) == pytest.approx(1, abs=1e-4)
    ck = load_checkpoint(run)
    assert ck["step"] == 4 and ck["config"]["model"]["arch"] == "classic"

    col = tinct.Colorizer.load(run / "model.safetensors", device="cpu")
    assert col.model.model_config.arch == "classic" and len(col.centres) == 261
    assert torch.equal(col.model.prior, torch.as_tensor(prior["prior"], dtype=torch.float32))
    for k, v in col.net.state_dict().items():                  # the model file holds the final weights
        assert torch.equal(v, ck["model"][k]), k
    img = np.asarray(helpers.colourful_image(np.random.default_rng(0), 50, 40))
    res = col.colorize(img)
    assert res.shape == img.shape and res.dtype == np.uint8
    assert tinct.Colorizer.load(run, device="cpu").model.model_config == col.model.model_config  # a run folder


def test_scene_labels_train_a_scene_head(labelled_data, tmp_path):
    plain = load_checkpoint(train_cli(labelled_data, tmp_path / "plain", steps=1, holdout=3, val_images=3))
    assert plain["config"]["model"]["num_classes"] == 0 and not any(k.startswith("scene.") for k in plain["model"])
    run = train_cli(labelled_data, tmp_path / "run", steps=3, holdout=3, val_images=3, scene_weight=0.1)
    ck = load_checkpoint(run)
    assert ck["config"]["model"]["num_classes"] == 3
    assert ck["model"]["scene.weight"].shape[0] == 3
    col = tinct.Colorizer.load(run, device="cpu")
    assert col.model.model_config.num_classes == 3


def test_default_arch_tiny(data, tmp_path):
    """The EfficientNet-Lite0 + FPN model (random init) trains a couple of steps and loads back."""
    run = train_cli(data, tmp_path / "run", steps=2, model="default", decoder_dim=16)
    col = tinct.Colorizer.load(run, device="cpu")
    assert col.model.model_config.arch == "default" and col.model.model_config.decoder_dim == 16


def test_resume_after_interruption_is_exact(data, tmp_path, monkeypatch):
    """N steps straight == interrupted right after the checkpoint at N/2, then --resume (cosine schedule, warmup,
    hints, rebalancing: the data order, augmentation and optimizer state must all come back)."""
    extra = dict(schedule="cosine", warmup=3, ckpt_every=5, lr="3e-3")
    straight = train_cli(data, tmp_path / "straight", steps=10, **extra)

    real_save = loop.save_checkpoint

    def save_then_crash(run, state):
        real_save(run, state)
        if state["step"] == 5:
            raise KeyboardInterrupt     # the process "dies" right after writing the step-5 checkpoint

    monkeypatch.setattr(loop, "save_checkpoint", save_then_crash)
    resumed = train_cli(data, tmp_path / "resumed", steps=10, expect=130, **extra)
    assert load_checkpoint(resumed)["step"] == 5
    monkeypatch.setattr(loop, "save_checkpoint", real_save)
    train_cli(data, resumed, steps=10, resume=None, **extra)
    assert_same_state(final_state(straight), final_state(resumed))
    # the TensorBoard log of the resumed run has each step once
    assert len(losses(resumed)) == 10
    np.testing.assert_array_equal(losses(resumed), losses(straight))


def test_resume_with_more_steps_continues(data, tmp_path):
    """--steps N/2, then --resume --steps N (constant LR, so the schedules agree) == N straight."""
    extra = dict(schedule="constant", warmup=0)
    straight = train_cli(data, tmp_path / "straight", steps=8, **extra)
    half = train_cli(data, tmp_path / "half", steps=4, **extra)
    assert load_checkpoint(half)["step"] == 4
    train_cli(data, half, steps=8, resume=None, **extra)
    assert_same_state(final_state(straight), final_state(half))
    assert json.loads((half / "config.json").read_text())["steps"] == 8


def test_resume_with_fewer_steps_is_honoured(data, tmp_path, monkeypatch):
    real_save = loop.save_checkpoint

    def save_then_crash(run, state):
        real_save(run, state)
        raise KeyboardInterrupt

    monkeypatch.setattr(loop, "save_checkpoint", save_then_crash)
    run = train_cli(data, tmp_path / "run", steps=8, ckpt_every=2, expect=130)
    assert load_checkpoint(run)["step"] == 2
    monkeypatch.setattr(loop, "save_checkpoint", real_save)
    train_cli(data, run, steps=3, ckpt_every=2, resume=None)        # a shorter plan than the original 8
    ck = load_checkpoint(run)
    assert ck["step"] == 3 and ck["config"]["steps"] == 3


def test_resume_of_a_finished_run_does_nothing_more(data, tmp_path):
    run = train_cli(data, tmp_path / "run", steps=3)
    before = final_state(run)
    train_cli(data, run, steps=3, resume=None)
    assert_same_state(before, final_state(run))


def test_nan_loss_stops_with_clear_error_and_keeps_last_good_checkpoint(data, tmp_path, monkeypatch, capsys):
    real_loss = loop.colorization_loss
    calls = {"n": 0, "always": False}

    def poisoned(*a, **k):
        calls["n"] += 1
        loss = real_loss(*a, **k)
        return loss * float("nan") if calls["n"] == 6 or calls["always"] else loss   # step index 5 goes NaN

    monkeypatch.setattr(loop, "colorization_loss", poisoned)
    run = train_cli(data, tmp_path / "run", steps=10, ckpt_every=2, expect=1)
    err = capsys.readouterr().err
    assert "nan" in err.lower() and "step 5" in err and "checkpoint" in err
    ck = load_checkpoint(run)
    assert ck["step"] == 4
    assert all(torch.isfinite(v).all() for v in ck["model"].values() if v.is_floating_point())
    tinct.Colorizer.load(run, device="cpu")
    calls["always"] = True
    with pytest.raises(loop.TrainingError, match="step 4"):
        loop.train(loop.config_from_dict(ck["config"]), resume=True)   # the Python API raises TrainingError
    assert load_checkpoint(run)["step"] == 4
    monkeypatch.setattr(loop, "colorization_loss", real_loss)
    train_cli(data, run, steps=10, resume=None, ckpt_every=2)
    assert load_checkpoint(run)["step"] == 10


def test_divergence_with_huge_lr_never_saves_non_finite_weights(data, tmp_path, capsys):
    run = train_cli(data, tmp_path / "run", steps=30, lr="1e6", ckpt_every=1, expect=1)
    assert "tinct train:" in capsys.readouterr().err
    ck = load_checkpoint(run)
    assert ck is not None and 1 <= ck["step"] < 30           # the checkpoints before the divergence were kept...
    assert all(torch.isfinite(v).all() for v in ck["model"].values() if v.is_floating_point())   # ...and are finite
    tinct.Colorizer.load(run, device="cpu")


def test_cli_exit_codes(data, tmp_path, capsys):
    assert main(helpers.tiny_train_args(data, tmp_path / "r", 2, size=48)) == 2        # not a multiple of 32
    assert main(helpers.tiny_train_args(tmp_path / "nothing", tmp_path / "r2", 2)) == 1  # no dataset
    assert "manifest" in capsys.readouterr().err


def test_crash_in_the_middle_of_writing_a_checkpoint_keeps_the_previous_one(tmp_path, monkeypatch):
    from tinct.train import checkpoint
    good = {"step": 3, "model": {"w": torch.arange(1000.0)}}
    checkpoint.save_checkpoint(tmp_path, good)

    def torn_save(obj, f):
        f.write(b"PK\x03\x04 half a checkpoint")
        raise OSError("disk full")                 # or SIGKILL: the process stops in the middle of the write

    monkeypatch.setattr(checkpoint.torch, "save", torn_save)
    with pytest.raises(OSError):
        checkpoint.save_checkpoint(tmp_path, {"step": 6, "model": {"w": torch.zeros(1000)}})
    monkeypatch.undo()
    ck = checkpoint.load_checkpoint(tmp_path)
    assert ck["step"] == 3 and torch.equal(ck["model"]["w"], good["model"]["w"])
    checkpoint.save_checkpoint(tmp_path, {"step": 9, "model": {"w": torch.ones(3)}})   # the next save still works
    assert checkpoint.load_checkpoint(tmp_path)["step"] == 9
    assert checkpoint.load_checkpoint(tmp_path / "nothing-here") is None


def test_sigkill_at_random_moments_then_resume_finishes(data, tmp_path):
    """Kill ``tinct train`` with SIGKILL at random moments, several times; each --resume loads a whole checkpoint
    and the run finishes with exactly the weights of an uninterrupted run."""
    steps = 40
    # the reference runs in a child too, so that both use the same thread count (bitwise-equal float sums)
    ref = subprocess.run([helpers.python(), "-m", "tinct.cli.main"] + helpers.tiny_train_args(
        data, tmp_path / "straight", steps, ckpt_every=3, log_every=5), env=helpers.subprocess_env(),
        capture_output=True, timeout=600)
    assert ref.returncode == 0, ref.stderr.decode()[-3000:]
    want = final_state(tmp_path / "straight")

    run = tmp_path / "killed"
    cmd = [helpers.python(), "-m", "tinct.cli.main"] + helpers.tiny_train_args(data, run, steps, ckpt_every=3,
                                                                               log_every=5)

    def ckpt_id():
        try:
            st = os.stat(run / "checkpoint.pt")
            return st.st_ino, st.st_mtime_ns
        except FileNotFoundError:
            return None

    rng = random.Random(1234)
    kills, seen = 0, []
    for attempt in range(8):
        with open(tmp_path / f"stderr{attempt}.txt", "wb") as err:
            proc = subprocess.Popen(cmd + (["--resume"] if attempt else []), env=helpers.subprocess_env(),
                                    stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
            # progress-driven, not clock-driven (this must hold on a loaded machine): wait for 1-2 new checkpoints
            # from this process, then kill it a random few milliseconds later -- mid-step or mid-save
            wait_for, changes, last = rng.randint(1, 2), 0, ckpt_id()
            deadline = time.monotonic() + 600
            while proc.poll() is None and changes < wait_for and time.monotonic() < deadline:
                cur = ckpt_id()
                if cur != last:
                    changes, last = changes + 1, cur
                time.sleep(0.002)
            time.sleep(rng.uniform(0.0, 0.1))
            if proc.poll() is not None:
                proc.wait()
                assert proc.returncode == 0, (tmp_path / f"stderr{attempt}.txt").read_text()[-3000:]
                break
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
        kills += 1
        ck = load_checkpoint(run)                               # never torn
        assert ck is not None
        assert (ck["step"] % 3 == 0 or ck["step"] == steps) and 3 <= ck["step"] <= steps
        seen.append(ck["step"])
        assert seen == sorted(seen) and len(set(seen)) == len(seen)   # every attempt made progress
        if kills >= 4:
            break
    print("killed", kills, "times; checkpoints seen at steps", seen)
    assert kills >= 3
    done = subprocess.run(cmd + ["--resume"], env=helpers.subprocess_env(), capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    assert_same_state(want, final_state(run))
    tinct.Colorizer.load(run, device="cpu")


def test_plot_compares_runs_on_images_seen(data, tmp_path, capsys):
    from PIL import Image

    from tinct.train import plot
    a = train_cli(data, tmp_path / "a", steps=4, val_every=2)
    b = train_cli(data, tmp_path / "b", steps=4, val_every=2, batch_size=2)
    s = plot.read_scalars(a)
    assert [t for t, _ in s["train/loss_per_image"]] == [1, 2, 3, 4]
    assert [t for t, _ in s["val/auc_rebalanced"]] == [2, 4] and "val_grey/auc_rebalanced" in s
    out = tmp_path / "curves.png"
    assert plot.main([str(a), str(b), "-o", str(out), "--labels", "a,b", "--x", "images", "--smooth", "0.5",
                      "--xmax", "10"]) == 0
    assert Image.open(out).size == (1170, 585)
    with pytest.raises(SystemExit):
        plot.main([str(a), "-o", str(out), "--labels", "a,b"])
    with pytest.raises(SystemExit):
        plot.main([str(tmp_path), "-o", str(out)])
    assert "not a training run" in capsys.readouterr().err


def test_ema_is_debiased_and_follows_the_data():
    from tinct.train.plot import ema
    assert ema([3.0, 3.0, 3.0], 0.9) == pytest.approx([3.0, 3.0, 3.0])   # no pull towards 0 at the start
    assert ema([1.0, 2.0], 0.0) == [1.0, 2.0]
    sm = ema([0.0] * 50 + [1.0] * 50, 0.8)
    assert sm[49] == pytest.approx(0) and 0.9 < sm[-1] < 1 and sm == sorted(sm)
