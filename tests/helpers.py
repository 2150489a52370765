"""Tiny, deterministic datasets for the tests: colourful JPEG folders, MiniPlaces-like trees, prepared shards."""
from __future__ import annotations

import hashlib
import os
import socket
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def colourful_image(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """A smooth, saturated picture: two crossing colour gradients plus a few soft colour blobs. uint8 (h, w, 3)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    x /= max(w - 1, 1)
    y /= max(h - 1, 1)
    c0, c1, c2 = (rng.uniform(0, 255, 3) for _ in range(3))
    img = c0 * (1 - x)[..., None] + c1 * x[..., None]
    img = img * (1 - 0.5 * y[..., None]) + c2 * 0.5 * y[..., None]
    for _ in range(int(rng.integers(1, 4))):
        cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.1, 0.4)
        blob = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r))[..., None]
        img = img * (1 - blob) + rng.uniform(0, 255, 3) * blob
    return np.clip(img, 0, 255).round().astype(np.uint8)


def make_image_folder(root, n: int, size: int = 48, seed: int = 0, subdir: str = "", ext: str = ".jpg",
                      prefix: str = "img") -> list[Path]:
    """Write ``n`` colourful images (sizes jittered around ``size``, various aspects) under ``root/subdir``."""
    rng = np.random.default_rng(seed)
    folder = Path(root) / subdir
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        w = int(size * rng.uniform(1.0, 1.5))
        h = int(size * rng.uniform(1.0, 1.5))
        p = folder / f"{prefix}{i:05d}{ext}"
        Image.fromarray(colourful_image(rng, w, h)).save(p, quality=90)
        paths.append(p)
    return paths


def make_grey_image(path, size: int = 48) -> Path:
    """A colour-mode JPEG with no colour (R = G = B), which prepare should skip as already grey."""
    g = np.tile(np.linspace(0, 255, size, dtype=np.float64).round().astype(np.uint8), (size, 1))
    Image.fromarray(np.dstack([g, g, g]), "RGB").save(path, quality=90)
    return Path(path)


def make_miniplaces(root, n_per_class: int = 3, classes=("a/abbey", "b/beach", "c/canyon"), n_val: int = 4,
                    size: int = 40, seed: int = 0) -> Path:
    """A fake MiniPlaces tree: images/train/<class>/..., images/val/..., train.txt, val.txt, categories.txt."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    train_lines, val_lines = [], []
    for label, cls in enumerate(classes):
        d = root / "images" / "train" / cls
        d.mkdir(parents=True, exist_ok=True)
        for i in range(n_per_class):
            Image.fromarray(colourful_image(rng, size, size)).save(d / f"{i + 1:08d}.jpg", quality=90)
            train_lines.append(f"train/{cls}/{i + 1:08d}.jpg {label}")
    (root / "images" / "val").mkdir(parents=True, exist_ok=True)
    for i in range(n_val):
        Image.fromarray(colourful_image(rng, size, size)).save(root / "images" / "val" / f"{i + 1:08d}.jpg",
                                                               quality=90)
        val_lines.append(f"val/{i + 1:08d}.jpg {i % len(classes)}")
    (root / "train.txt").write_text("\n".join(train_lines) + "\n")
    (root / "val.txt").write_text("\n".join(val_lines) + "\n")
    (root / "categories.txt").write_text("".join(f"/{c} {i}\n" for i, c in enumerate(classes)))
    return root


def make_dataset(root, n: int = 24, size: int = 32, shard_size: int = 10, seed: int = 0) -> Path:
    """A prepared dataset of ``n`` colourful images at ``size`` px (one process, no progress bar)."""
    from tinct.data.prepare import prepare
    root = Path(root)
    src = root / "src"
    make_image_folder(src, n, size=max(size + 8, 40), seed=seed)
    out = root / "data"
    prepare([src], out, size=size, shard_size=shard_size, workers=1, progress=False)
    return out


def sha256_files(folder, pattern: str = "train-*") -> dict[str, str]:
    """Name -> sha256 of every file matching ``pattern`` in ``folder`` (shards and their json)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(folder).glob(pattern))}


def subprocess_env(threads: int = 1) -> dict:
    """Environment for a child ``tinct``/``python``: the source tree importable, few threads."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO / "src") + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = str(threads)
    env["MKL_NUM_THREADS"] = str(threads)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def python() -> str:
    return sys.executable


def tiny_train_args(data, out, steps: int = 6, **extra) -> list[str]:
    """``tinct train`` arguments for a tiny, fast CPU run; ``extra`` overrides (key -> value, None = flag)."""
    opts = {"--model": "classic", "--width": "0.125", "--size": "32", "--batch-size": "4", "--steps": str(steps),
            "--holdout": "4", "--val-images": "4", "--prior-images": "16", "--warmup": "0", "--lr": "3e-3",
            "--log-every": "1", "--image-every": "1000", "--val-every": "1000", "--ckpt-every": "1000",
            "--prefetch": "2", "--device": "cpu", "--precision": "fp32", "--input-size": "32"}
    flags = ["--no-pretrained", "--no-channels-last"]
    for k, v in extra.items():
        k = "--" + k.replace("_", "-") if not k.startswith("--") else k
        if v is None:
            flags.append(k)
        else:
            opts[k] = str(v)
    args = ["train", str(data), "-o", str(out)]
    for k, v in opts.items():
        args += [k, v]
    return args + flags


def hint_follower(max_pixels: int | None = None):
    """A Colorizer around a stand-in network that predicts exactly the hinted ab where there is a hint and grey
    elsewhere (decode: mean, T = 1), so the hint plumbing (CLI/API/page -> Hint -> network) can be checked exactly
    whatever the shipped weights do."""
    import torch
    import torch.nn.functional as F

    from tinct.color import bin_centres
    from tinct.model import LoadedModel
    from tinct.model.config import InferenceConfig, ModelConfig
    from tinct.pipeline.colorizer import Colorizer

    class HintFollower(torch.nn.Module):
        def __init__(self, centres):
            super().__init__()
            self.register_buffer("centres", centres)

        def forward(self, l, hints=None):
            n, _, H, W = l.shape
            if hints is None:
                hints = l.new_zeros(n, 3, H, W)
            mask = F.avg_pool2d(hints[:, 2:3], 4)
            ab = F.avg_pool2d(hints[:, :2] * 110 * hints[:, 2:3], 4) / mask.clamp(min=1e-6)
            return -(ab.unsqueeze(1) - self.centres.view(1, -1, 2, 1, 1)).pow(2).sum(2) / 20.0

    c = bin_centres("gamut")
    q = len(c)
    loaded = LoadedModel(HintFollower(c), ModelConfig(), InferenceConfig(input_size=128, decode="mean",
                                                                         temperature=1.0),
                         c, torch.full((q,), 1 / q), torch.ones(q))
    extra = {} if max_pixels is None else {"max_pixels": max_pixels}
    col = Colorizer(loaded, torch.device("cpu"), **extra)
    col.propagate_hints = False  # what is checked is what reaches the network
    return col


class Blocking:
    """Wraps a colorizer; each colorize call waits until released (holds a server's single worker busy)."""

    def __init__(self, inner, wait_s: float = 60):
        self.inner, self.wait_s = inner, wait_s
        self.release, self.entered = threading.Event(), threading.Event()

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def colorize(self, *a, **k):
        self.entered.set()
        assert self.release.wait(self.wait_s)
        return self.inner.colorize(*a, **k)


@contextmanager
def serving(app):
    """Run ``app`` on a free loopback port in a thread -> its base URL; stopped on exit."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    import uvicorn
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def multipart(fields: dict, boundary: str = "tinctboundary") -> tuple[bytes, str]:
    """A multipart/form-data body from {name: (filename or None, bytes)} -> (body, Content-Type)."""
    parts = []
    for name, (filename, data) in fields.items():
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        parts.append(f"--{boundary}\r\nContent-Disposition: {disp}\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def make_labelled_dataset(root, n_per_class: int, n_val: int) -> Path:
    """A tiny MiniPlaces-layout tree (3 labelled classes, 40 px) prepared into 32-px shards of 8: root/data."""
    from tinct.data.prepare import prepare
    root = Path(root)
    mp = make_miniplaces(root / "mp", n_per_class=n_per_class, n_val=n_val, size=40)
    prepare([mp], root / "data", size=32, shard_size=8, workers=1, progress=False)
    return root / "data"


def load_script(relpath: str):
    """A script of the repository that is not a package module (``tools/x.py``, ``benchmarks/y.py``), imported by
    path under its file name (registered in ``sys.modules``, so its dataclasses can resolve their module)."""
    import importlib.util
    path = REPO / relpath
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = mod
    spec.loader.exec_module(mod)
    return mod
