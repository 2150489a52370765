"""``tinct train`` on broken inputs (issue 25, cases 10 and 16): a truncated, wrong-shape or missing-tensor
``--init-from`` model and a truncated shard are one line naming the file and the cause, exit 2; a NaN at step 0
says honestly that no checkpoint exists yet."""
from __future__ import annotations

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save

import helpers
from tinct.cli.main import main
from tinct.model import InferenceConfig, ModelConfig, build_model, save_model_file


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return helpers.make_dataset(tmp_path_factory.mktemp("d"), n=16, size=32)


@pytest.fixture(scope="module")
def init_models(tmp_path_factory):
    """A good tiny classic model file and three broken copies of it."""
    d = tmp_path_factory.mktemp("init")
    cfg = ModelConfig(arch="classic", width=0.125)
    net = build_model(cfg)
    q = 261   # the "srgb" grid's bins
    good = d / "good.safetensors"
    save_model_file(good, net, cfg, InferenceConfig(input_size=32), torch.full((q,), 1 / q), torch.ones(q))
    with safe_open(str(good), "pt") as f:
        meta = f.metadata()
    ts = load_file(str(good))
    name = next(k for k in ts if k.endswith(".weight") and ts[k].dim() == 4)
    raw = good.read_bytes()
    (d / "truncated.safetensors").write_bytes(raw[:len(raw) * 2 // 3])
    (d / "missing.safetensors").write_bytes(save({k: v for k, v in ts.items() if k != name}, metadata=meta))
    (d / "shape.safetensors").write_bytes(save({**ts, name: torch.zeros(ts[name].shape[0] + 1, *ts[name].shape[1:])},
                                               metadata=meta))
    return d


def one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("which, cause", [("truncated", "safetensors"), ("missing", "missing"), ("shape", "shape")])
def test_init_from_a_broken_model_is_one_line_exit_2(data, init_models, tmp_path, capsys, which, cause):
    bad = init_models / f"{which}.safetensors"
    rc = main(helpers.tiny_train_args(data, tmp_path / "run", steps=2, init_from=bad))
    line = one_line(capsys.readouterr().err)
    assert rc == 2 and str(bad) in line and cause in line, line


def test_training_on_a_truncated_shard_is_one_line_exit_2(data, tmp_path, capsys):
    import shutil
    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    shard = sorted(copy.glob("train-*.u8"))[-1]
    shard.write_bytes(shard.read_bytes()[:-100])
    rc = main(helpers.tiny_train_args(copy, tmp_path / "run", steps=2))
    line = one_line(capsys.readouterr().err)
    assert rc == 2 and str(shard) in line and "truncated" in line, line


def test_nan_at_step_0_says_there_is_no_checkpoint_yet(data, tmp_path, capsys, monkeypatch):
    from tinct.train import loop
    real_loss = loop.colorization_loss
    monkeypatch.setattr(loop, "colorization_loss", lambda *a, **k: real_loss(*a, **k) * float("nan"))
    rc = main(helpers.tiny_train_args(data, tmp_path / "run", steps=2))
    err = capsys.readouterr().err
    assert rc == 1 and "step 0" in err
    assert "No checkpoint was written yet" in err and "last good checkpoint" not in err.lower(), err
    assert not (tmp_path / "run" / "checkpoint.pt").exists()
