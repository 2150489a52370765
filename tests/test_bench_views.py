"""benchmarks/bench_views.py: test-time views and output ensembles, scored like bench_cast's decodes."""
import json

import numpy as np
import pytest
import torch
from helpers import load_script
from test_bench_cast import warm_and_green


def test_one_id_view_is_the_plain_decode_and_a_repeated_view_changes_nothing(colorizer, tmp_path):
    views, cast = load_script("benchmarks/bench_views.py"), load_script("benchmarks/bench_cast.py")
    sets = cast.parse_sets([f"s={warm_and_green(tmp_path)}"], 0)
    cols = {"m": colorizer}
    res = views.score(cols, sets, ["m:id", "m:id+m:id", "m:id+m:flip"], [0.0, -1.0], log=lambda m: None)
    plain = cast.score(colorizer, sets, [], log=lambda m: None, names=["rb-1.0"])
    for beta, variant in ((0.0, "base"), (-1.0, "rb-1.0")):
        one, twice, ref = res[("s", "m:id", beta)], res[("s", "m:id+m:id", beta)], plain[("s", variant)]
        for k in ("psnr", "auc_rebalanced", "colourfulness_ratio", "mean_colour_error", "mean_b"):
            assert one[k] == pytest.approx(ref[k], rel=1e-4, abs=1e-4)
            assert twice[k] == pytest.approx(one[k], rel=1e-5, abs=1e-5)
    assert res[("s", "grey", 0.0)]["colourfulness_ratio"] < 0.05
    assert res[("s", "m:id+m:flip", 0.0)]["psnr"] != res[("s", "m:id", 0.0)]["psnr"]
    table = views.markdown(res).splitlines()
    assert table[0] == "| combo | β | s (2) |"
    assert [r.split(" | ")[:2] for r in table[2:4]] == [["| m:id", "+0.0"], ["| m:id", "-1.0"]]


def test_the_flip_view_of_a_mirrored_photo_is_the_id_view_mirrored(colorizer):
    views = load_script("benchmarks/bench_views.py")
    rgb = np.random.default_rng(0).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    grid = (16, 24)
    a = views.view_logprobs(colorizer, colorizer.network_input(np.ascontiguousarray(rgb[:, ::-1]), 256), True, grid)
    b = views.view_logprobs(colorizer, colorizer.network_input(rgb, 256), False, grid).flip(-1)
    assert a.shape == (1, len(colorizer.centres), *grid)
    assert torch.allclose(a, b, atol=1e-3)
    assert views.view_size("s32", 256) == 32 and views.view_size("flip", 256) == 256
    other = views.view_logprobs(colorizer, colorizer.network_input(rgb, 32), False, grid)   # lands on the same grid
    assert other.shape == a.shape and torch.allclose(other.exp().sum(1), torch.ones(1, *grid), atol=1e-4)


def test_a_combo_naming_an_unknown_model_or_view_is_refused():
    views = load_script("benchmarks/bench_views.py")
    assert views.parse_combo("a:id+b:s192", {"a": 0, "b": 0}) == [("a", "id"), ("b", "s192")]
    for bad in ("c:id", "a:rot90", "a"):
        with pytest.raises(SystemExit, match="--combos"):
            views.parse_combo(bad, {"a": 0, "b": 0})


def test_the_command_writes_the_table_and_the_figures(tmp_path, capsys):
    views = load_script("benchmarks/bench_views.py")
    out = tmp_path / "views.json"
    assert views.main(["--models", "m=default", "--sets", f"s={warm_and_green(tmp_path)}:1", "--combos", "m:id",
                       "--betas", "0", "--json", str(out)]) == 0
    assert "| m:id | +0.0 | " in capsys.readouterr().out
    figures = json.loads(out.read_text())
    assert sorted(figures) == ["s/grey/0.0", "s/m:id/0.0"] and figures["s/m:id/0.0"]["images"] == 1
    with pytest.raises(SystemExit, match="NAME=MODEL"):
        views.main(["--models", "default", "--sets", f"s={tmp_path}", "--combos", "m:id"])
