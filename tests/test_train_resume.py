"""``tinct train`` interrupted and resumed: exact resume, more/fewer steps, a finished run, NaN and divergence
stops, a crash while writing a checkpoint, SIGKILL at random moments."""
import json
import os
import random
import signal
import subprocess
import time

import numpy as np
import pytest
import torch

import helpers
import tinct
from tinct.cli.main import main
from tinct.train import loop
from tinct.train.checkpoint import load_checkpoint


from test_train import assert_same_state, data, final_state, losses, train_cli  # noqa: F401 - data is a fixture


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


def test_init_from_starts_every_weight_from_the_model_and_keeps_its_network(data, tmp_path, capsys):
    """--init-from RUN: the network config comes from the model file (a conflicting --width is overridden), every
    weight starts from it (lr 0: the parameters stay exactly the file's), the new training settings apply."""
    def params(run):
        return {k: v for k, v in load_checkpoint(run)["model"].items()
                if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))}

    first = train_cli(data, tmp_path / "first", steps=4)
    still = dict(lr=0, schedule="constant", hint_p_none=0.2, width=0.25)
    tuned = train_cli(data, tmp_path / "tuned", steps=2, init_from=first, **still)
    cfg = json.loads((tuned / "config.json").read_text())
    assert cfg["model"]["width"] == 0.125 and cfg["hint_p_none"] == 0.2 and cfg["init_from"].endswith(".safetensors")
    a, b = params(first), params(tuned)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    fresh = params(train_cli(data, tmp_path / "fresh", steps=2, **{**still, "width": 0.125}))
    assert not all(torch.equal(a[k], fresh[k]) for k in a)     # without it the weights are a fresh start
    train_cli(data, tmp_path / "none", steps=2, expect=2, init_from=tmp_path / "nowhere")
    assert "--init-from" in capsys.readouterr().err
