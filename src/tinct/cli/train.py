"""``tinct train DATASET -o RUN``: every TrainConfig / ModelConfig / InferenceConfig field is a flag."""
from __future__ import annotations

import dataclasses
import sys

from ..model.config import InferenceConfig, ModelConfig
from ..model.efficientnet_lite import ENCODERS, WEIGHTS_PACKAGES
from . import args as cli_args
from ..train.config import TrainConfig

ALIASES = {"arch": "--model"}
CHOICES = {"arch": ("default", "classic"), "encoder": ENCODERS, "grid": ("srgb", "gamut", "grid18"),
           "schedule": ("cosine", "step", "constant"), "precision": ("auto", "fp32", "bf16"), "device": None,
           "decode": ("annealed", "mode", "mean")}
HELP = {
    # the network (stored with the weights)
    "arch": "network: default (EfficientNet-Lite + FPN decoder) or classic (the paper's 22 convs in 8 groups)",
    "encoder": "default arch: the encoder, EfficientNet-Lite0 or -Lite1 (depth 1.1: 21 blocks, not 16)",
    "grid": "ab bins: srgb (261 cells 8-bit sRGB reaches), gamut (the first release's 257), grid18 (the seed's 18x18)",
    "decoder_dim": "default arch: width of the FPN decoder",
    "width": "classic arch: multiplier on the paper's channel widths 64-128-256-512-512-512-512-256",
    "num_classes": "scene-category head outputs (0 = none; set from the labels when --scene-weight > 0)",
    "hints": "hint input channels (user-guided colorization)",
    # how the model is run at inference (stored with the weights)
    "input_size": "the network's input size at inference: photos are resized to about this squared (multiple of 32)",
    "decode": "colour from the bin distribution: annealed mean (the paper), mode (the seed) or mean",
    "temperature": "annealed-mean temperature (the paper: 0.38; 1 = mean, towards 0 = mode)",
    "rebalance_correction": "beta in [0, 1]: decode with log p - beta log w, undoing part of the rebalancing",
    "output_stride": "the network's output stride (4 for both architectures)",
    # training
    "pretrained": "default arch: start the encoder from its ImageNet weights (the --encoder's weights package)",
    "steps": "total optimizer steps (with --resume: the new total; the LR schedule follows it)",
    "batch_size": "images per step per process (DDP: per GPU)",
    "size": "training crop size in pixels (multiple of 32); not the inference size, which is --input-size",
    "lr": "peak learning rate (AdamW)",
    "encoder_lr_mult": "the pretrained encoder's LR as a fraction of --lr",
    "weight_decay": "AdamW weight decay",
    "warmup": "steps of linear LR warm-up",
    "schedule": "LR schedule after warm-up",
    "min_lr_ratio": "cosine: the final LR as a fraction of --lr",
    "clip": "gradient-norm clip per image (0 = none)",
    "seed": "seed of the data order, crops and hints (a step's batch is a function of seed, step and rank)",
    "device": "auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps",
    "precision": "auto: bf16 autocast on CUDA; on the CPU, whichever a short measured probe of training steps "
                 "finds faster (RUN/precision.json)",
    "channels_last": "channels-last memory format (faster convolutions on CPU and GPU)",
    "soft_k": "soft targets: the k nearest bins",
    "soft_sigma": "soft targets: Gaussian std in ab units",
    "prior_sigma": "std of the Gaussian smoothing of the ab prior",
    "rebalance_lambda": "rebalancing: mix of the prior with the uniform distribution (the paper: 0.5)",
    "rebalance_power": "rebalancing weights raised to this power (1 = the paper, 0 = plain -log p)",
    "ab_regression": "weight of an auxiliary L1 loss on the distribution's mean colour E_p[ab] (0 = off)",
    "prior_images": "images sampled to estimate the ab prior",
    "hint_p_none": "share of images trained without hints (the automatic colorizer)",
    "hint_mean_points": "mean of the geometric number of hint points of a hinted image",
    "hint_max_patch": "hint patches are squares of odd side 1..N pixels",
    "degrade": "share of training images whose grey input gets old-print damage (blur, fading, grain, cracks, "
               "dust); their target colours stay clean",
    "scene_weight": "weight of a scene-category loss on the data's labels (0 = no scene head)",
    "holdout": "training images held out for validation and tuning (at most a fifth of the data)",
    "log_every": "steps between logged scalars",
    "image_every": "steps between image grids (TensorBoard and RUN/images/)",
    "val_every": "steps between held-out validations",
    "val_images": "held-out images per validation",
    "ckpt_every": "steps between checkpoints",
    "prefetch": "batches the loader reads ahead",
    "loader_workers": "loader threads",
    "init_from": "fine-tune: start every weight from this model (a .safetensors file, a run folder or a shipped "
                 "name such as v2); its network config is used; fresh optimizer and LR schedule",
    "compile": "torch.compile the network (the first step's time is logged)",
}


def _flag(name):
    return ALIASES.get(name, "--" + name.replace("_", "-"))


def _add_fields(p, cls, skip=()):
    for f in dataclasses.fields(cls):
        if f.name in skip or f.type in ("ModelConfig", "InferenceConfig", "tuple"):
            continue
        default = f.default
        text = f"{HELP[f.name]} (default: {default})"
        if isinstance(default, bool):
            p.add_argument(_flag(f.name), dest=f.name, action=argparse_bool(), default=None, help=text)
        elif isinstance(default, (int, float, str)):
            p.add_argument(_flag(f.name), dest=f.name, type=type(default), default=None, help=text,
                           choices=CHOICES.get(f.name))


def argparse_bool():
    import argparse
    return argparse.BooleanOptionalAction


def add_parser(sub):
    p = sub.add_parser("train", help="train a colorizer on a prepared dataset",
                       description="Train a colorizer. Every field of the run's config is a flag; the run folder keeps "
                                   "the config, checkpoints, TensorBoard logs, image grids and the model file.")
    p.add_argument("data", help="a dataset made by 'tinct prepare'")
    p.add_argument("-o", "--out", required=True, help="run folder (checkpoints, TensorBoard, images, model)")
    p.add_argument("--resume", action="store_true", help="continue from the run's last checkpoint")
    _add_fields(p, TrainConfig, skip=("data", "out"))
    _add_fields(p, ModelConfig)
    _add_fields(p, InferenceConfig, skip=("hint_format",))   # a contract string, not a setting
    return p


def config_from_args(args) -> TrainConfig:
    cfg = TrainConfig(data=args.data, out=args.out)
    for target in (cfg, cfg.model, cfg.inference):
        for f in dataclasses.fields(target):
            v = getattr(args, f.name, None)
            if v is not None and f.name not in ("data", "out"):
                setattr(target, f.name, v)
    return cfg


def needed_modules(cfg: TrainConfig, resume: bool) -> list[str]:
    """The packages of the 'train' extra this run imports."""
    needed = ["tensorboard"]
    if cfg.model.arch == "default" and cfg.pretrained and not resume and not cfg.init_from:
        needed.append(WEIGHTS_PACKAGES[cfg.model.encoder])
    return needed


def run(args) -> int:
    cfg = config_from_args(args)
    if cfg.init_from and not args.resume:
        from ..pipeline.colorizer import resolve_model_path
        try:
            cfg.init_from = str(resolve_model_path(cfg.init_from))
        except FileNotFoundError as e:
            print(f"tinct train: --init-from: {e}", file=sys.stderr)
            return 2
    why = cli_args.require("tinct train", "train", *needed_modules(cfg, args.resume))
    if why:
        print(why, file=sys.stderr)
        return 2
    from ..train.checkpoint import CheckpointError
    from ..train.loop import TrainingError, train
    if cfg.size % 32 or cfg.inference.input_size % 32:
        print("tinct train: --size and --input-size must be multiples of 32", file=sys.stderr)
        return 2
    from ..data.shards import DatasetError
    from ..model import ModelFileError
    try:
        result = train(cfg, resume=args.resume, steps=args.steps)
    except ModelFileError as e:          # --init-from: truncated, wrong shapes, missing tensors, NaN weights
        print(f"tinct train: --init-from: {e}", file=sys.stderr)
        return 2
    except DatasetError as e:            # a truncated or broken shard
        print(f"tinct train: {e}", file=sys.stderr)
        return 2
    except (TrainingError, CheckpointError, FileNotFoundError, KeyError) as e:
        print(f"tinct train: {e}", file=sys.stderr)
        return 1
    if result:
        m, g = result["model"], result["grey"]
        print(f"step {result['step']}: rebalanced AuC {m['auc_rebalanced']:.1f} (grey {g['auc_rebalanced']:.1f}), "
              f"PSNR {m['psnr']:.2f} dB (grey {g['psnr']:.2f}), colourfulness x{m['colourfulness_ratio']:.2f}")
    return 0
