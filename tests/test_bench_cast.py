"""benchmarks/bench_cast.py: decode variants scored per set, warm photos grouped, the MODEL.md table."""
from pathlib import Path

import numpy as np
import torch
import pytest
from PIL import Image
from helpers import load_script


def load_bench():
    return load_script("benchmarks/bench_cast.py")


def photo(path: Path, rgb, seed: int):
    px = np.clip(np.array(rgb, np.float32) + np.random.default_rng(seed).normal(0, 20, (48, 64, 3)), 0, 255)
    Image.fromarray(px.astype(np.uint8)).save(path)


def warm_and_green(tmp_path: Path) -> Path:
    """A folder of two photos: one warm (orange), one green."""
    folder = tmp_path / "set"
    folder.mkdir()
    photo(folder / "orange.png", (230, 120, 30), 0)
    photo(folder / "green.png", (70, 160, 60), 2)
    return folder


def test_variants_scored_and_warm_photos_grouped(colorizer, tmp_path):
    bench = load_bench()
    folder = tmp_path / "set"
    folder.mkdir()
    photo(folder / "orange.png", (230, 120, 30), 0)    # truth mean a* > 6, b* > 18: warm
    photo(folder / "blue.png", (60, 90, 200), 1)
    photo(folder / "green.png", (70, 160, 60), 2)
    sets = bench.parse_sets([f"s={folder}:2", f"all={folder}"], seed=0)
    assert len(sets["s"]) == 2 and len(sets["all"]) == 3
    res = bench.score(colorizer, {"all": sets["all"]}, warm_from=["all"], log=lambda m: None)
    assert res[("all", "grey")]["images"] == 3 and res[("warm (all)", "base")]["images"] == 1
    grey, base, pull = res[("all", "grey")], res[("all", "base")], res[("all", "pull0.5")]
    assert abs(grey["mean_a"]) < 0.5 and abs(grey["mean_b"]) < 0.5 and grey["colourfulness_ratio"] < 0.05
    assert base["colourfulness_ratio"] > 0.05
    _, prior = bench.variants(colorizer)
    for k, p in zip(("mean_a", "mean_b"), prior):   # pull0.5 moves each output's mean ab halfway to the prior's
        assert pull[k] == pytest.approx(base[k] + 0.5 * (p - base[k]), abs=1.5)
    table = bench.markdown(res, ["all", "warm (all)"]).splitlines()
    assert table[0] == "| decode | all (3) | warm (all) (1) |"
    assert table[2].startswith("| grey | ") and "truth a*" in table[2]
    assert [row.split(" | ")[0] for row in table[3:]] == [
        "| shipped (T 1)", "| T0.7", "| rb0.5", "| rb1.0", "| divprior0.25", "| mulprior0.25", "| lowconf1.0",
        "| pull0.5"]


def test_a_set_spec_naming_no_folder_is_refused(tmp_path):
    bench = load_bench()
    with pytest.raises(SystemExit, match="NAME=FOLDER"):
        bench.parse_sets([f"x={tmp_path / 'missing'}"], seed=0)


def test_parametric_variants_follow_their_number(colorizer, tmp_path):
    bench = load_bench()
    folder = warm_and_green(tmp_path)
    names = ["rb-1.0", "rb0.0", "rb1.0", "T1.0"]
    table, _ = bench.variants(colorizer, names)
    assert list(table) == ["grey", "base", *names]
    res = bench.score(colorizer, {"s": bench.parse_sets([f"s={folder}"], 0)["s"]}, [], log=lambda m: None,
                      names=names)
    for same in ("rb0.0", "T1.0"):   # no correction and T = 1 are the shipped decode itself
        assert res[("s", same)]["mean_b"] == pytest.approx(res[("s", "base")]["mean_b"], abs=1e-4)
    # a negative beta strengthens the rebalancing (more colour), a positive one weakens it
    c = {v: res[("s", v)]["colourfulness_ratio"] for v in ("rb-1.0", "base", "rb1.0")}
    assert c["rb-1.0"] > c["base"] > c["rb1.0"]
    with pytest.raises(SystemExit, match="--variants"):
        bench.variants(colorizer, ["sharpen2"])


def test_gain_scales_the_models_own_decode_and_size_changes_the_grid(colorizer, tmp_path):
    bench = load_bench()
    folder = warm_and_green(tmp_path)
    table, _ = bench.variants(colorizer, ["gain1.0", "gain0.5"])
    own = colorizer.options()
    z = torch.randn(1, len(colorizer.centres), 4, 6)
    from tinct.color.bins import decode
    ab = decode(z, colorizer.centres, "annealed", own.temperature, colorizer.shift(own.rebalance_correction))
    assert torch.allclose(table["gain1.0"](z), ab, atol=1e-5)
    assert torch.allclose(table["gain0.5"](z), 0.5 * ab, atol=1e-5)
    files = {"s": bench.parse_sets([f"s={folder}"], 0)["s"]}
    res = bench.score(colorizer, files, [], log=lambda m: None, names=["gain0.0"])
    assert res[("s", "gain0.0")]["psnr"] == pytest.approx(res[("s", "grey")]["psnr"], abs=1e-3)   # gain 0 is grey
    small = bench.score(colorizer, files, [], log=lambda m: None, names=[], size=32)
    assert small[("s", "base")]["psnr"] != pytest.approx(res[("s", "base")]["psnr"], abs=1e-3)
