"""``tinct train DATASET -o RUN``: every TrainConfig / ModelConfig / InferenceConfig field is a flag."""
from __future__ import annotations

import dataclasses
import sys

from ..model.config import InferenceConfig, ModelConfig
from ..train.config import TrainConfig

ALIASES = {"arch": "--model"}
HELP = {"arch": "default (EfficientNet-Lite0 + FPN) or classic (the paper's 22-layer net)"}


def _flag(name):
    return ALIASES.get(name, "--" + name.replace("_", "-"))


def _add_fields(p, cls, skip=()):
    for f in dataclasses.fields(cls):
        if f.name in skip or f.type in ("ModelConfig", "InferenceConfig", "tuple"):
            continue
        default = f.default
        if isinstance(default, bool):
            p.add_argument(_flag(f.name), dest=f.name, action=argparse_bool(), default=None,
                           help=f"(default {default})")
        elif isinstance(default, (int, float, str)):
            p.add_argument(_flag(f.name), dest=f.name, type=type(default), default=None,
                           help=HELP.get(f.name, f"(default {default})"))


def argparse_bool():
    import argparse
    return argparse.BooleanOptionalAction


def add_parser(sub):
    p = sub.add_parser("train", help="train a colorizer on a prepared dataset")
    p.add_argument("data", help="a dataset made by 'tinct prepare'")
    p.add_argument("-o", "--out", required=True, help="run folder (checkpoints, TensorBoard, images, model)")
    p.add_argument("--resume", action="store_true", help="continue from the run's last checkpoint")
    _add_fields(p, TrainConfig, skip=("data", "out"))
    _add_fields(p, ModelConfig)
    _add_fields(p, InferenceConfig)
    return p


def config_from_args(args) -> TrainConfig:
    cfg = TrainConfig(data=args.data, out=args.out)
    for target in (cfg, cfg.model, cfg.inference):
        for f in dataclasses.fields(target):
            v = getattr(args, f.name, None)
            if v is not None and f.name not in ("data", "out"):
                setattr(target, f.name, v)
    return cfg


def run(args) -> int:
    from ..train.checkpoint import CheckpointError
    from ..train.loop import TrainingError, train
    cfg = config_from_args(args)
    if cfg.size % 32 or cfg.inference.input_size % 32:
        print("tinct train: --size and --input-size must be multiples of 32", file=sys.stderr)
        return 2
    try:
        result = train(cfg, resume=args.resume, steps=args.steps)
    except (TrainingError, CheckpointError, FileNotFoundError, KeyError) as e:
        print(f"tinct train: {e}", file=sys.stderr)
        return 1
    if result:
        m, g = result["model"], result["grey"]
        print(f"step {result['step']}: rebalanced AuC {m['auc_rebalanced']:.1f} (grey {g['auc_rebalanced']:.1f}), "
              f"PSNR {m['psnr']:.2f} dB (grey {g['psnr']:.2f}), colourfulness x{m['colourfulness_ratio']:.2f}")
    return 0
