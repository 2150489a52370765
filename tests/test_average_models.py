"""tools/average_models.py: the weight average that made the shipped v3 file (MODEL.md, session 14)."""
import pytest
import torch

import helpers
from helpers import load_script
from tinct.model import load_model_file
from tinct.pipeline.colorizer import shipped_model_path


def test_midpoint_of_two_models_keeps_the_first_ones_config(tmp_path):
    tool = load_script("tools/average_models.py")
    a, b = shipped_model_path("v2"), shipped_model_path("v3")
    tool.average(a, b, tmp_path / "mix.safetensors", 0.5, rebalance_correction=-0.5)
    ma, mb, mix = load_model_file(a), load_model_file(b), load_model_file(tmp_path / "mix.safetensors")
    sa, sb, sm = ma.net.state_dict(), mb.net.state_dict(), mix.net.state_dict()
    floats = [k for k, v in sa.items() if v.is_floating_point()]
    assert floats and all(torch.allclose(sm[k], (sa[k] + sb[k]) / 2, atol=1e-6) for k in floats)
    assert any(not torch.equal(sa[k], sb[k]) for k in floats)              # a real blend, not a copy
    assert mix.model_config == ma.model_config and torch.equal(mix.prior, ma.prior)
    assert torch.equal(mix.weights, ma.weights)
    assert mix.inference.rebalance_correction == -0.5 and mix.inference.temperature == ma.inference.temperature


def test_weight_zero_is_the_first_model_and_other_networks_are_refused(tmp_path):
    tool = load_script("tools/average_models.py")
    a = shipped_model_path("v2")
    tool.average(a, shipped_model_path("v3"), tmp_path / "same.safetensors", 0.0)
    sa, sm = load_model_file(a).net.state_dict(), load_model_file(tmp_path / "same.safetensors").net.state_dict()
    assert all(torch.equal(sa[k], sm[k]) for k in sa)
    with pytest.raises(ValueError, match="outside"):
        tool.average(a, a, tmp_path / "x.safetensors", 1.5)
    from tinct.cli.main import main as tinct_main
    data = helpers.make_dataset(tmp_path / "data", n=24, size=32)
    assert tinct_main(helpers.tiny_train_args(data, tmp_path / "tiny", steps=1)) == 0
    with pytest.raises(ValueError, match="different networks"):
        tool.average(a, tmp_path / "tiny" / "model.safetensors", tmp_path / "y.safetensors")
    assert not (tmp_path / "y.safetensors").exists()
