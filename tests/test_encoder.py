"""The EfficientNet-Lite encoders (model/efficientnet_lite.py): Lite0 and Lite1 stage tables, feature strides and
channels, their ImageNet checkpoints loading strictly, and model files that name the encoder (old ones: Lite0)."""
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file, save

from tinct.model import InferenceConfig, ModelConfig, ModelFileError, build_model, load_model_file, save_model_file
from tinct.model.efficientnet_lite import (ENCODERS, LiteEncoder, SameConv, feature_blocks, feature_channels,
                                           imagenet_path, lite_stages)
from tinct.pipeline.colorizer import resolve_model_path
from tinct.train.loop import config_from_dict

HEAD = ("_conv_head", "_bn1.", "_fc")   # the classification head: in the checkpoints, not in the encoder


def checkpoint(variant):
    return torch.load(imagenet_path(variant), map_location="cpu", weights_only=True)


def test_stage_tables_follow_the_lite_depth_rule():
    assert ENCODERS == ("lite0", "lite1")
    assert [r[-1] for r in lite_stages("lite0")] == [1, 2, 2, 3, 3, 4, 1]
    assert [r[-1] for r in lite_stages("lite1")] == [1, 3, 3, 4, 4, 5, 1]       # first and last not scaled
    assert [r[:5] for r in lite_stages("lite1")] == [r[:5] for r in lite_stages("lite0")]   # width 1.0
    assert feature_blocks(lite_stages("lite0")) == (2, 4, 10, 15)
    assert feature_blocks(lite_stages("lite1")) == (3, 6, 14, 20)
    with pytest.raises(ValueError, match="lite0"):
        LiteEncoder(0, "lite9")


@pytest.mark.parametrize("variant, blocks", [("lite0", 16), ("lite1", 21)])
def test_features_at_strides_4_8_16_32(variant, blocks):
    torch.manual_seed(0)
    enc = LiteEncoder(3, variant).eval()
    assert len(enc._blocks) == blocks
    assert enc.feature_channels == feature_channels(lite_stages("lite0")) == (24, 40, 112, 320)
    with torch.no_grad():
        feats = enc(torch.rand(2, 1, 64, 64) * 100, torch.zeros(2, 3, 64, 64))
    assert [tuple(f.shape) for f in feats] == [(2, 24, 16, 16), (2, 40, 8, 8), (2, 112, 4, 4), (2, 320, 2, 2)]
    net = build_model(ModelConfig(encoder=variant, decoder_dim=16)).eval()
    with torch.no_grad():
        assert net(torch.rand(1, 1, 64, 64) * 100).shape == (1, 261, 16, 16)


@pytest.mark.parametrize("variant", ENCODERS)
def test_imagenet_checkpoint_loads_every_tensor(variant):
    sd = {k: v for k, v in checkpoint(variant).items() if not k.startswith(HEAD)}
    enc = LiteEncoder(3, variant)
    ours = enc.state_dict()
    assert set(ours) - set(sd) == {"hint_stem.weight"} and set(sd) == set(ours) - {"hint_stem.weight"}
    assert all(ours[k].shape == v.shape for k, v in sd.items() if k != "_conv_stem.weight")
    assert len({k.split(".")[1] for k in sd if k.startswith("_blocks.")}) == len(enc._blocks)
    enc.load_imagenet()
    got = enc.state_dict()
    assert torch.equal(got["_conv_stem.weight"], sd["_conv_stem.weight"].sum(1, keepdim=True))
    last = len(enc._blocks) - 1
    for k in ("_bn0.running_var", "_blocks.0._depthwise_conv.weight", f"_blocks.{last}._project_conv.weight",
              f"_blocks.{last - 1}._bn0.running_mean", f"_blocks.{last // 2}._expand_conv.weight"):
        assert torch.equal(got[k], sd[k]), k
    assert not got["hint_stem.weight"].any()            # hints enter through a fresh, zero entry


def test_a_checkpoint_of_the_other_variant_is_refused(tmp_path):
    with pytest.raises(RuntimeError, match="Lite0 checkpoint"):
        LiteEncoder(0, "lite0").load_imagenet(imagenet_path("lite1"))
    with pytest.raises(RuntimeError, match="Lite1 checkpoint"):
        LiteEncoder(0, "lite1").load_imagenet(imagenet_path("lite0"))


def _imagenet_top(variant, x, k):
    """Top-k ImageNet classes of the full classifier (RGB stem, head) built on the encoder's trunk."""
    sd = checkpoint(variant)
    enc = LiteEncoder(0, variant)
    enc._conv_stem = SameConv(3, 32, 3, 2)
    enc.load_state_dict({n: v for n, v in sd.items() if not n.startswith(HEAD)})
    enc.eval()
    with torch.no_grad():
        h = F.relu6(enc._bn0(enc._conv_stem(x)))
        for block in enc._blocks:
            h = block(h)
        h = F.batch_norm(F.conv2d(h, sd["_conv_head.weight"]), sd["_bn1.running_mean"], sd["_bn1.running_var"],
                         sd["_bn1.weight"], sd["_bn1.bias"], False, 0.0, 1e-3)
        logits = F.linear(F.relu6(h).mean((2, 3)), sd["_fc.weight"], sd["_fc.bias"])
    return logits[0].topk(k).indices.tolist()


def test_lite1_with_its_weights_sees_what_lite0_sees():
    """Strides, kernels and padding are right only if the ImageNet classifiers agree on a photo."""
    img = Image.open(resolve_model_path(None).parent / "probe.jpg").convert("RGB").resize((224, 224), Image.BICUBIC)
    x = torch.from_numpy(np.array(img)).permute(2, 0, 1)[None].float()
    x = (x - 127.0) / 128.0
    top0, top1 = _imagenet_top("lite0", x, 3), _imagenet_top("lite1", x, 3)
    assert top1[0] in top0 and top0[0] in top1, (top0, top1)


def test_a_lite1_model_file_round_trips(tmp_path):
    torch.manual_seed(0)
    cfg = ModelConfig(encoder="lite1", decoder_dim=16)
    net = build_model(cfg).eval()
    q = len(net.head[-1].bias)
    path = tmp_path / "m.safetensors"
    save_model_file(path, net, cfg, InferenceConfig(input_size=64), torch.full((q,), 1 / q), torch.ones(q))
    assert json.loads(safe_open(str(path), "pt").metadata()["model"])["encoder"] == "lite1"
    m = load_model_file(path)
    assert m.model_config == cfg and len(m.net.encoder._blocks) == 21
    l = torch.rand(1, 1, 64, 64) * 100
    with torch.no_grad():
        assert torch.equal(m.net(l), net(l))

    meta = dict(safe_open(str(path), "pt").metadata())          # the same file with the field dropped: its
    meta["model"] = json.dumps({k: v for k, v in json.loads(meta["model"]).items() if k != "encoder"})
    (tmp_path / "old.safetensors").write_bytes(save(load_file(str(path)), metadata=meta))   # weights are Lite1's
    with pytest.raises(ModelFileError, match="missing|unexpected|shape"):
        load_model_file(tmp_path / "old.safetensors")


def test_old_files_and_checkpoints_without_the_field_are_lite0(tmp_path):
    shipped = resolve_model_path(None)
    assert "encoder" not in json.loads(safe_open(str(shipped), "pt").metadata()["model"])
    m = load_model_file(shipped)
    assert m.model_config.encoder == "lite0" and len(m.net.encoder._blocks) == 16

    net = build_model(ModelConfig(decoder_dim=16))
    q = len(net.head[-1].bias)
    path = tmp_path / "m.safetensors"
    save_model_file(path, net, ModelConfig(decoder_dim=16), InferenceConfig(), torch.ones(q) / q, torch.ones(q))
    meta = dict(safe_open(str(path), "pt").metadata())
    old = {k: v for k, v in json.loads(meta["model"]).items() if k != "encoder"}
    meta["model"] = json.dumps(old)
    (tmp_path / "old.safetensors").write_bytes(save(load_file(str(path)), metadata=meta))
    assert load_model_file(tmp_path / "old.safetensors").model_config.encoder == "lite0"
    assert config_from_dict({"model": old}).model.encoder == "lite0"                  # a training checkpoint's
