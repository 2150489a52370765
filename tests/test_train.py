"""``tinct train`` end to end on tiny generated data: learning, run outputs, exact resume, NaN stop, SIGKILL."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import helpers
import tinct
from tinct.cli.main import main
from tinct.color import bin_centres
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


def test_lite1_encoder_trains_from_its_imagenet_weights(data, tmp_path):
    """``--encoder lite1 --pretrained``: the Lite1 checkpoint reaches the network, which trains and loads back."""
    from tinct.model.efficientnet_lite import imagenet_path
    run = train_cli(data, tmp_path / "run", steps=2, model="default", decoder_dim=16, encoder="lite1",
                    pretrained=None)
    assert json.loads((run / "config.json").read_text())["model"]["encoder"] == "lite1"
    col = tinct.Colorizer.load(run, device="cpu")
    assert col.model.model_config.encoder == "lite1" and len(col.net.encoder._blocks) == 21
    imagenet = torch.load(imagenet_path("lite1"), map_location="cpu", weights_only=True)
    trained = load_checkpoint(run)["model"]          # (col.net has its BatchNorms folded into the convolutions)
    for k in ("_blocks.20._project_conv.weight", "_blocks.12._expand_conv.weight"):   # two AdamW steps away
        w = trained["encoder." + k]
        assert torch.allclose(w, imagenet[k], atol=2e-2) and not torch.equal(w, imagenet[k]), k
    assert losses(run).shape == (2,) and np.isfinite(losses(run)).all()


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


def test_ab_regression_adds_its_term_to_the_training_loss(data, tmp_path):
    """Same seed, same first batch and weights: the first step's loss grows by the (positive) regression term."""
    plain = losses(train_cli(data, tmp_path / "plain", steps=1))
    reg = losses(train_cli(data, tmp_path / "reg", steps=1, ab_regression="2"))
    assert json.loads((tmp_path / "reg" / "config.json").read_text())["ab_regression"] == 2.0
    assert 0.05 < reg[0] - plain[0] < 50, (plain[0], reg[0])
