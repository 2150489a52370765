"""Training configuration: one dataclass; command-line flags override its defaults; saved in the run and in
every checkpoint so that a checkpoint rebuilds its own model."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..model.config import InferenceConfig, ModelConfig


@dataclass
class TrainConfig:
    data: str = ""                  # a prepared dataset (tinct prepare)
    out: str = ""                   # the run folder
    model: ModelConfig = field(default_factory=ModelConfig)
    inference: InferenceConfig = field(default_factory=InferenceConfig)
    pretrained: bool = True         # default arch: initialize the encoder from ImageNet (its --encoder's)
    init_from: str = ""             # fine-tune: start every weight from this model file (its network config
                                    # replaces --model/--grid/...; fresh optimizer and LR schedule)
    steps: int = 20000
    batch_size: int = 32            # per process
    size: int = 128                 # training crop (multiple of 32)
    lr: float = 1e-3
    encoder_lr_mult: float = 0.5    # pretrained encoder learns slower than the fresh decoder
    weight_decay: float = 1e-2
    warmup: int = 300
    schedule: str = "cosine"        # cosine | step | constant
    min_lr_ratio: float = 0.02
    clip: float = 1.0
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"         # auto (bf16 on CUDA; CPU: measured, train/precision.py) | fp32 | bf16;
                                    # a run stores what auto resolved to
    channels_last: bool = True
    # targets and loss (Zhang et al. 2016)
    soft_k: int = 5
    soft_sigma: float = 5.0
    prior_sigma: float = 5.0
    rebalance_lambda: float = 0.5
    rebalance_power: float = 1.0    # 1 = the paper, 0 = no rebalancing (the seed's plain -log p)
    ab_regression: float = 0.0      # weight of an auxiliary L1 term on the mean colour E_p[ab] (train/loss.py)
    prior_images: int = 2000        # images sampled to estimate the ab prior
    hint_p_none: float = 0.5        # fraction of images trained without hints (the automatic colorizer)
    hint_mean_points: float = 8.0   # mean of the geometric number of hint points per hinted image
    hint_max_patch: int = 7         # hint patches are squares of odd side 1..hint_max_patch (Zhang et al. 2017: 9)
    degrade: float = 0.0            # share of images whose L input looks like a damaged old print (data/degrade.py)
    scene_weight: float = 0.0       # weight of a scene-category loss when labels exist (0 = no scene head;
                                    # 0.1 in the shipped run: it did not help, MODEL.md "Scene-head ablation")
    holdout: int = 500              # training images held out (never trained on) for validation and tuning
    # logging
    log_every: int = 25
    image_every: int = 500
    val_every: int = 1000
    val_images: int = 256
    ckpt_every: int = 500
    prefetch: int = 4               # batches read ahead by the loader
    loader_workers: int = 2         # loader threads (each preads whole batches)
    compile: bool = False           # torch.compile the network (first step reports the compile time)
