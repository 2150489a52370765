"""Model files are checked before anything is allocated for them (issue 25, cases 7, 9 and 16): metadata out
of range, tensors that do not match it, truncated files and NaN weights are one line naming the file, exit 2,
in the Python API, ``tinct colorize``, ``tinct serve`` and ``tinct train --init-from``."""
from __future__ import annotations

import json
import socket

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file, save

from tinct.model import ModelFileError, load_model_file
from tinct.pipeline.colorizer import resolve_model_path


def write_variant(path, model=None, inference=None, tensors=None):
    """The shipped model with its metadata's configs updated by ``model``/``inference`` and ``tensors`` edited."""
    src = resolve_model_path(None)
    with safe_open(str(src), "pt") as f:
        meta = dict(f.metadata())
    ts = load_file(str(src))
    for key, change in (("model", model), ("inference", inference)):
        if change:
            meta[key] = json.dumps({**json.loads(meta[key]), **change})
    if tensors:
        tensors(ts)
    path.write_bytes(save(ts, metadata=meta))
    return path


def _nan(ts):
    k = next(k for k in ts if not k.startswith("meta.") and ts[k].is_floating_point())
    ts[k] = ts[k].clone()
    ts[k].view(-1)[0] = float("nan")


def _drop(ts):
    del ts[next(k for k in ts if not k.startswith("meta."))]


def _reshape(ts):
    k = next(k for k in ts if k.endswith(".weight") and ts[k].dim() == 4)
    ts[k] = torch.zeros(ts[k].shape[0] + 1, *ts[k].shape[1:])


BROKEN = {  # name -> (how to write it, a word of the one-line cause)
    "decoder_dim_4096": (dict(model={"decoder_dim": 4096}), "decoder_dim"),
    "decoder_dim_128": (dict(model={"decoder_dim": 128}), "shape"),
    "decode_bogus": (dict(inference={"decode": "bogus"}), "decode"),
    "input_size_1e9": (dict(inference={"input_size": 1e9}), "input_size"),
    "temperature_nan": (dict(inference={"temperature": "NaN"}), "temperature"),
    "arch_unknown": (dict(model={"arch": "resnet"}), "arch"),
    "encoder_unknown": (dict(model={"encoder": "lite9"}), "encoder"),
    "encoder_lite1": (dict(model={"encoder": "lite1"}), "missing"),    # Lite0 weights: blocks 16-20 absent
    "nan_weight": (dict(tensors=_nan), "NaN"),
    "missing_tensor": (dict(tensors=_drop), "missing"),
    "wrong_shape": (dict(tensors=_reshape), "shape"),
}


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    d = tmp_path_factory.mktemp("models")
    files = {name: write_variant(d / f"{name}.safetensors", **kw) for name, (kw, _) in BROKEN.items()}
    good = resolve_model_path(None).read_bytes()
    (d / "truncated.safetensors").write_bytes(good[:len(good) // 2])
    files["truncated"] = d / "truncated.safetensors"
    return files


@pytest.mark.parametrize("name", [*BROKEN, "truncated"])
def test_a_broken_model_file_is_one_line_naming_file_and_cause(broken, name):
    with pytest.raises(ModelFileError) as e:
        load_model_file(broken[name])
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(str(broken[name]))
    assert (BROKEN[name][1] if name in BROKEN else "safetensors") in msg


@pytest.mark.parametrize("name", ["decoder_dim_4096", "decoder_dim_128", "decode_bogus", "input_size_1e9",
                                  "missing_tensor", "wrong_shape", "encoder_unknown", "encoder_lite1"])
def test_metadata_and_shapes_are_checked_before_any_weight_is_read_or_network_built(broken, name, monkeypatch):
    import tinct.model.io as io

    real_build = io.build_model

    def forbidden(*a, **k):
        raise AssertionError("allocated before the checks")

    def meta_only(*a, **k):      # the network may only be built on the meta device (no memory)
        if torch.empty(0).device.type != "meta":
            forbidden()
        return real_build(*a, **k)
    monkeypatch.setattr(io, "load_file", forbidden)
    monkeypatch.setattr(io, "build_model", meta_only)
    with pytest.raises(ModelFileError):
        load_model_file(broken[name])


def test_the_shipped_model_still_loads():
    m = load_model_file(resolve_model_path(None))
    assert all(torch.isfinite(t).all() for t in m.net.state_dict().values() if t.is_floating_point())


@pytest.mark.parametrize("name", ["decode_bogus", "input_size_1e9", "nan_weight", "decoder_dim_4096"])
def test_colorize_cli_says_one_line_and_exits_2(broken, name, tinct_cli, tmp_path):
    src = tmp_path / "in.png"
    Image.fromarray(np.full((40, 48, 3), 120, np.uint8)).save(src)
    r = tinct_cli("colorize", src, "-o", tmp_path / "out.png", "--model", broken[name])
    assert r.rc == 2, r.err
    assert "Traceback" not in r.err and len(r.err.strip().splitlines()) == 1, r.err
    assert str(broken[name]) in r.err and not (tmp_path / "out.png").exists()


@pytest.mark.parametrize("name", ["decode_bogus", "nan_weight"])
def test_serve_refuses_to_start_with_a_broken_model(broken, name, capsys):
    from tinct.cli.main import main
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main(["serve", "--model", str(broken[name]), "--port", str(port)]) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if not ln.startswith("tinct serve: loading")]
    assert len(err) == 1 and str(broken[name]) in err[0], err
