"""tools/device_run.py: a prepared dataset packed into JPEG chunks and unpacked elsewhere keeps every image once,
and the source's held-out images land where ``tinct train`` holds out in the unpacked dataset."""
import json
import sys
from pathlib import Path

import numpy as np

import helpers
from tinct.data.shards import ShardDataset
from tinct.data.splits import split_indices
from helpers import load_script

TOOL = Path(__file__).resolve().parents[1] / "tools" / "device_run.py"


def load_tool():
    return load_script("tools/device_run.py")


def run_tool(tool, monkeypatch, *argv):
    monkeypatch.setattr(sys, "argv", ["device_run.py", *argv])
    return tool.main()


def test_pack_stash_unpack_keeps_every_image_and_the_holdout_in_place(tmp_path, monkeypatch):
    tool = load_tool()
    monkeypatch.setattr(tool, "STORE", tmp_path / "store")
    src = ShardDataset(helpers.make_dataset(tmp_path / "data", n=40, size=32, shard_size=7))
    assert run_tool(tool, monkeypatch, "pack", str(src.root), str(tmp_path / "chunks"),
                    "--chunks", "9", "--chunk-mb", "0.01", "--holdout", "6") == 0
    chunks = sorted((tmp_path / "chunks").iterdir())
    counts = [len(json.loads((c / "index.json").read_text())["lengths"]) for c in chunks]
    assert len(chunks) > 2 and sum(counts) == 40 and counts[-1] > 0    # every image, in several chunks
    assert json.loads((chunks[0] / "index.json").read_text())["holdout"] == 6
    for c in chunks:                                                      # one call per chunk
        assert run_tool(tool, monkeypatch, "stash", str(c)) == 0
    n = tool.unpack(tmp_path / "unpacked", holdout=6, shard=9)
    out = ShardDataset(tmp_path / "unpacked")
    assert n == len(out) == 40 and out.size == 32

    a = np.stack([src[i][0] for i in range(40)]).astype(np.float32)
    b = np.stack([out[i][0] for i in range(40)]).astype(np.float32)
    dist = np.abs(a[:, None] - b[None]).mean(axis=(2, 3, 4))             # source x unpacked
    match = dist.argmin(axis=0)                                           # the source image of each unpacked one
    assert sorted(match) == list(range(40))                               # each exactly once
    assert dist[match, np.arange(40)].max() < 6                           # JPEG quality 75: close, not exact
    _, src_hold = split_indices(40, 6)
    _, out_hold = split_indices(40, 6)
    assert set(match[out_hold]) == set(src_hold)                          # held out there too
    assert [out[int(i)][1] for i in range(40)] == [src[int(j)][1] for j in match]   # labels travel


def test_unpack_refuses_chunks_whose_holdout_does_not_match(tmp_path, monkeypatch):
    tool = load_tool()
    monkeypatch.setattr(tool, "STORE", tmp_path / "store")
    src = helpers.make_dataset(tmp_path / "data", n=20, size=32)
    run_tool(tool, monkeypatch, "pack", str(src), str(tmp_path / "chunks"), "--chunks", "1", "--holdout", "3")
    run_tool(tool, monkeypatch, "stash", str(tmp_path / "chunks" / "c01"))
    try:
        tool.unpack(tmp_path / "unpacked", holdout=4)
    except SystemExit as e:
        assert "3 held-out images" in str(e) and "--holdout 4" in str(e)
    else:
        raise AssertionError("unpack accepted a holdout the chunks do not have")


def packed_for_training(tmp_path, monkeypatch):
    """The tool with its store and $OUT in ``tmp_path``, 30 images packed into tmp_path/chunks/c01 (4 held out),
    and ``tinct train`` flags for a tiny run of a million steps that snapshots every 5."""
    tool = load_tool()
    monkeypatch.setattr(tool, "STORE", tmp_path / "store")
    monkeypatch.setenv("OUT", str(tmp_path / "out"))
    data = helpers.make_dataset(tmp_path / "data", n=30, size=32)
    run_tool(tool, monkeypatch, "pack", str(data), str(tmp_path / "chunks"), "--holdout", "4")
    return tool, helpers.tiny_train_args("x", "y", steps=10 ** 6, ckpt_every=5, val_every=5)[4:]  # no "train x -o y"


def clock_reaching_the_deadline_once_snapshotted(tool, monkeypatch, deadline_s: float, outs: list) -> None:
    """Replace the tool's clock by one that stands still until every folder of ``outs`` holds a model snapshot,
    then reads just past the deadline (short of the kill 30 s later): the run is stopped after its first
    snapshot whatever the machine's speed, as a real deadline would after some snapshots."""
    def clock():
        done = all(any(Path(o).glob("model_s*.safetensors")) for o in outs)
        return deadline_s + 1.0 if done else 0.0
    monkeypatch.setattr(tool, "clock", clock)


def test_train_stops_the_run_at_the_deadline_and_returns_its_last_model(tmp_path, monkeypatch):
    from tinct.model import load_model_file, model_file_step
    tool, flags = packed_for_training(tmp_path, monkeypatch)
    clock_reaching_the_deadline_once_snapshotted(tool, monkeypatch, 20, [tmp_path / "out"])
    rc = run_tool(tool, monkeypatch, "train", "--chunks", str(tmp_path / "chunks" / "c01"), "--holdout", "4",
                  "--deadline-s", "20", "--keep", "2", "--", *flags)
    assert rc == 130                                         # stopped, not finished: a million steps were asked for
    out = tmp_path / "out"
    models = sorted(out.glob("model_s*.safetensors"), key=lambda m: int(m.stem.split("_s")[1]))
    assert 1 <= len(models) <= 2                             # the newest snapshots, no more than --keep
    val_steps = {json.loads(line)["step"] for line in (out / "val.jsonl").read_text().splitlines()}
    for m in models:                                         # each named by the step its weights are from
        assert int(m.stem.split("_s")[1]) == model_file_step(m) in val_steps and model_file_step(m) >= 5
    assert models[-1].read_bytes() == (tmp_path / "store" / "run" / "model.safetensors").read_bytes()  # the last
    assert load_model_file(models[-1]).model_config.arch == "classic"


def test_train_runs_several_arms_at_once_each_with_its_own_flags_and_half_size_snapshots(tmp_path, monkeypatch):
    import tarfile
    import torch
    from tinct.model import load_model_file, model_file_step
    tool, flags = packed_for_training(tmp_path, monkeypatch)
    arm_outs = [tmp_path / "out" / arm for arm in ("reg", "p025")]
    clock_reaching_the_deadline_once_snapshotted(tool, monkeypatch, 25, arm_outs)
    rc = run_tool(tool, monkeypatch, "train", "--chunks", str(tmp_path / "chunks" / "c01"), "--holdout", "4",
                  "--deadline-s", "25", "--keep", "2", "--half", "--report-s", "5",
                  "--arm", "reg: --ab-regression 1", "--arm", "p025: --rebalance-power 0.25", "--", *flags)
    assert rc == 130
    out = tmp_path / "out"
    with tarfile.open(out / "logs.tar.gz") as tar:
        configs = {a: json.load(tar.extractfile(f"{a}/config.json")) for a in ("reg", "p025")}
        assert {"reg/val.jsonl", "p025/train.log"} <= set(tar.getnames())
    assert (configs["reg"]["ab_regression"], configs["reg"]["rebalance_power"]) == (1.0, 1.0)   # its own flags
    assert (configs["p025"]["ab_regression"], configs["p025"]["rebalance_power"]) == (0.0, 0.25)
    assert len(list(out.rglob("*"))) <= 8                                # what the device tool brings back
    for arm in ("reg", "p025"):
        models = sorted((out / arm).glob("model_s*.safetensors"), key=lambda m: int(m.stem.split("_s")[1]))
        assert 1 <= len(models) <= 2
        full = tmp_path / "store" / f"run-{arm}" / "model.safetensors"
        assert model_file_step(models[-1]) == model_file_step(full)
        assert models[-1].stat().st_size < 0.6 * full.stat().st_size         # float16
        half, ref = load_model_file(models[-1]).net.state_dict(), load_model_file(full).net.state_dict()
        for k, v in ref.items():                                             # loads back as float32, rounded
            assert half[k].dtype == v.dtype
            if v.is_floating_point():
                torch.testing.assert_close(half[k], v, rtol=1e-3, atol=1e-4)


def test_halve_keeps_tensors_beyond_float16_range_in_float32(tmp_path):
    import torch
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file
    tool = load_tool()
    f = tmp_path / "m.safetensors"
    t = {"w": torch.linspace(-2, 2, 100), "running_var": torch.tensor([1.0, 7e4]), "n": torch.tensor(3)}
    save_file(t, str(f), metadata={"step": "7"})
    tool.halve(f)
    back = load_file(str(f))
    assert back["w"].dtype == torch.float16 and torch.allclose(back["w"].float(), t["w"], atol=2e-3)
    assert back["running_var"].dtype == torch.float32 and torch.equal(back["running_var"], t["running_var"])
    assert back["n"].dtype == t["n"].dtype and safe_open(str(f), "pt").metadata() == {"step": "7"}


def test_receive_makes_run_folders_that_tune_scores_on_the_held_out_images(tmp_path, monkeypatch):
    """Two arms' float16 snapshots and their logs -> one run folder per snapshot, named by arm and step, whose
    config points at the local dataset, so that ``tinct tune`` runs on it."""
    import tarfile
    from tinct.cli.main import main as tinct_main
    from tinct.evaluate.tune import sweep
    tool = load_tool()
    receive = load_script("tools/device_receive.py")
    data = helpers.make_dataset(tmp_path / "data", n=24, size=32)
    assert tinct_main(helpers.tiny_train_args(data, tmp_path / "trained", steps=3)) == 0
    from tinct.model import load_model_file, save_model_file
    back = tmp_path / "back"
    back.mkdir()
    with tarfile.open(back / "logs.tar.gz", "w:gz") as tar:
        for arm, step in (("reg", 7), ("p025", 9)):
            (back / arm).mkdir()
            model = back / arm / f"model_s{step}.safetensors"
            m = load_model_file(tmp_path / "trained" / "model.safetensors")
            save_model_file(model, m.net, m.model_config, m.inference, m.prior, m.weights, step=step)
            tool.halve(model)
            cfg = json.loads((tmp_path / "trained" / "config.json").read_text())
            (tmp_path / f"{arm}.json").write_text(json.dumps(dict(cfg, data="/device/prep", arm=arm)))
            tar.add(tmp_path / f"{arm}.json", f"{arm}/config.json")
    runs = receive.receive(back, str(data), tmp_path / "runs", "v9")
    assert sorted(r.name for r in runs) == ["v9-p025-s9", "v9-reg-s7"]
    for r in runs:
        cfg = json.loads((r / "config.json").read_text())
        assert cfg["data"] == str(data) and cfg["arm"] == r.name.split("-")[1]       # its own arm's config
    rows = sweep(runs[0], [1.0], [0.0], [32], limit=2)
    assert len(rows) == 1 and np.isfinite(rows[0]["psnr_gap"])
