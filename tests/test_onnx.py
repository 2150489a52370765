"""ONNX export of the shipped model: a valid, self-contained file whose outputs match PyTorch's on real photos
(max |delta ab| <= 1 CIELAB unit after decoding) at two spatial sizes and batch 2, and the onnxruntime backend."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from tinct.color import decode, rgb_to_lab  # noqa: E402
from tinct.export import read_metadata  # noqa: E402
from tinct.model import load_model_file  # noqa: E402
from tinct.pipeline.colorizer import Colorizer, shipped_model_path  # noqa: E402
from tinct.pipeline.onnx_backend import OnnxNetwork, load_onnx_model  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
PHOTOS = [DATA / "oldphotos" / "bopbtl_00001.jpg", DATA / "wallpapers" / "debwall_00001.jpg"]
need_photos = pytest.mark.skipif(not all(p.exists() for p in PHOTOS), reason="shared photos not available")


@pytest.fixture(scope="module")
def loaded():
    return load_model_file(shipped_model_path())


@pytest.fixture(scope="module")
def onnx_file(loaded, tmp_path_factory):
    from tinct.export import export_onnx
    return export_onnx(loaded, tmp_path_factory.mktemp("onnx") / "default.onnx")


@pytest.fixture(scope="module")
def session_net(onnx_file):
    return OnnxNetwork(onnx_file)


def photo_l(path: Path, hw: tuple[int, int]) -> torch.Tensor:
    img = Image.open(path).convert("RGB").resize(hw[::-1], Image.BILINEAR)
    t = torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1).unsqueeze(0).float() / 255
    return rgb_to_lab(t)[:, :1]


def test_export_is_valid_and_self_contained(onnx_file, loaded):
    model = onnx.load(str(onnx_file))
    onnx.checker.check_model(model)
    assert [i.name for i in model.graph.input] == ["l", "hints"]
    assert [o.name for o in model.graph.output] == ["logits"]
    dims = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", 1, "height", "width"]
    meta = read_metadata(model)
    assert meta["model"]["arch"] == loaded.model_config.arch
    assert meta["inference"]["input_size"] == loaded.inference.input_size
    assert meta["inference"]["temperature"] == loaded.inference.temperature
    assert torch.equal(torch.tensor(meta["bin_centres"]), loaded.centres.float())
    assert torch.equal(torch.tensor(meta["rebalance_weights"]), loaded.weights.float())
    assert torch.equal(torch.tensor(meta["prior"]), loaded.prior.float())


@need_photos
@pytest.mark.parametrize("hw", [(256, 320), (192, 128)])
def test_parity_with_torch_batch2(hw, loaded, session_net):
    l = torch.cat([photo_l(p, hw) for p in PHOTOS])                    # batch 2 of real photos
    hints = torch.zeros(2, 3, *hw)
    hints[1, 0, 40:60, 30:50], hints[1, 1, 40:60, 30:50], hints[1, 2, 40:60, 30:50] = 0.4, -0.3, 1.0
    with torch.inference_mode():
        ref = loaded.net.eval()(l, hints)
    got = session_net(l, hints)
    assert got.shape == ref.shape == (2, len(loaded.centres), hw[0] // 4, hw[1] // 4)
    for method in ("annealed", "mode", "mean"):
        ab_ref = decode(ref, loaded.centres, method, loaded.inference.temperature)
        ab_got = decode(got, loaded.centres, method, loaded.inference.temperature)
        diff = (ab_ref - ab_got).abs()
        if method == "mode":  # argmax may flip between two near-equal bins: allow it on a tiny fraction of pixels
            assert (diff > 1.0).float().mean() < 1e-3
        else:
            assert diff.max() <= 1.0, f"{method}: max |delta ab| {diff.max():.3f}"


def test_no_hints_input_means_zero_hints(session_net):
    l = torch.full((1, 1, 64, 96), 60.0)
    assert torch.equal(session_net(l, None), session_net(l, torch.zeros(1, 3, 64, 96)))


@need_photos
def test_colorizer_onnxruntime_backend_matches_torch(onnx_file):
    t = Colorizer.load(device="cpu")
    o = Colorizer.load(onnx_file, backend="onnxruntime")
    assert o.defaults == t.defaults
    a = np.asarray(t.colorize(PHOTOS[0]), dtype=np.int16)
    b = np.asarray(o.colorize(PHOTOS[0]), dtype=np.int16)
    assert a.shape == b.shape
    assert np.abs(a - b).max() <= 2


def test_backend_from_safetensors_exports_in_memory(loaded):
    lm = load_onnx_model(shipped_model_path())
    assert isinstance(lm.net, OnnxNetwork)
    assert torch.equal(lm.centres, loaded.centres)


def test_unknown_backend_and_missing_onnxruntime(monkeypatch):
    with pytest.raises(ValueError, match="backend"):
        Colorizer.load(backend="tensorflow")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(ModuleNotFoundError, match="pip install"):
        Colorizer.load(backend="onnxruntime")


def test_read_metadata_rejects_foreign_onnx(tmp_path):
    from onnx import TensorProto, helper
    g = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    p = tmp_path / "foreign.onnx"
    onnx.save(helper.make_model(g), str(p))
    with pytest.raises(ValueError, match="not a tinct ONNX export"):
        read_metadata(p)


def test_cli_export(tmp_path, capsys):
    from tinct.cli.main import main
    out = tmp_path / "m.onnx"
    assert main(["export", "--onnx", str(out), "--opset", "13", "--quiet"]) == 0
    assert read_metadata(out)["format"] == "tinct-onnx-1"
    assert main(["export", "--onnx", str(tmp_path / "nope" / "m.onnx")]) == 2
    assert "no such folder" in capsys.readouterr().err


@need_photos
def test_cpu_fast_path_matches_network_as_trained(loaded):
    """Colorizer's CPU network (BatchNorm folded, channels_last; issue 5) decodes to the same ab as the network
    as trained, with and without hints, and leaves the loaded network untouched."""
    from tinct.pipeline.fast_net import prepare_for_cpu
    before = {k: v.clone() for k, v in loaded.net.state_dict().items()}
    fast = prepare_for_cpu(loaded.net)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fast.encoder.modules())
    l = torch.cat([photo_l(p, (192, 256)) for p in PHOTOS])
    hints = torch.zeros(2, 3, 192, 256)
    hints[0, 0, 20:40, 20:40], hints[0, 2, 20:40, 20:40] = -0.5, 1.0
    with torch.inference_mode():
        for h in (None, hints):
            ab_ref = decode(loaded.net.eval()(l, h), loaded.centres)
            ab_fast = decode(fast(l, h), loaded.centres)
            assert (ab_ref - ab_fast).abs().max() <= 1e-2
    after = loaded.net.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)


@need_photos
def test_cli_colorize_with_onnxruntime_backend(onnx_file, tinct_cli, tmp_path):
    src = tmp_path / "old.jpg"
    Image.open(PHOTOS[0]).convert("L").resize((200, 150)).save(src)
    r_torch = tinct_cli("colorize", src, "-o", tmp_path / "torch.png", "-q", "--precision", "fp32")  # ONNX runs fp32
    r_ort = tinct_cli("colorize", src, "-o", tmp_path / "ort.png", "-q",
                      "--backend", "onnxruntime", "--model", onnx_file)
    assert r_torch.rc == 0 and r_ort.rc == 0, r_ort.err
    a = np.asarray(Image.open(tmp_path / "torch.png"), dtype=np.int16)
    b = np.asarray(Image.open(tmp_path / "ort.png"), dtype=np.int16)
    assert a.shape == b.shape == (150, 200, 3)
    assert np.abs(a - b).max() <= 2
    assert np.abs(b[..., 0] - b[..., 2]).mean() > 1  # it is coloured, not grey


def test_cli_onnxruntime_backend_refuses_gpu_and_missing_package(tinct_cli, tmp_path, monkeypatch):
    src = tmp_path / "g.png"
    Image.new("L", (64, 48), 128).save(src)
    r = tinct_cli("colorize", src, "-o", tmp_path / "o.png", "--backend", "onnxruntime", "--device", "cuda")
    assert r.rc == 2 and "onnxruntime runs on the CPU" in r.err and not (tmp_path / "o.png").exists()
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    r = tinct_cli("colorize", src, "-o", tmp_path / "o.png", "--backend", "onnxruntime")
    assert r.rc == 2 and len(r.error_lines()) == 1 and "pip install" in r.err
    assert not (tmp_path / "o.png").exists()
