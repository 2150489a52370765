"""Train on a lent GPU machine that can only be reached by small file transfers (at most 64 MiB a call).

A prepared dataset (``tinct prepare``: raw 128x128 RGB, ~49 KB an image) does not travel; re-encoded as JPEG
quality 75 it is ~4.3 KB an image (MiniPlaces' own JPEGs are quality 75, so the re-encoding changes L by 0.17 and
the 4x-pooled ab the loss sees by 0.22 on average), ~14,000 images a call beside the ~1 MB that
``tools/device_trim.sh on`` leaves of the checkout. So:

  here:   python tools/device_run.py pack DATASET .devdata --chunks 11 --chunk-mb 57
  device: call 1..k, each carrying one chunk folder:  python3 tools/device_run.py stash .devdata/c01 ...
          (the model a fine-tune starts from travels halved, ``halve``, beside chunk 1, copied into the store)
  device: last call:  python3 tools/device_run.py train --deadline-s 500 -- <tinct train flags>
          or several runs at once on the one accelerator (one change each, against the same common flags):
          ... train --deadline-s 500 --half --keep 2 --arm 'p025: --rebalance-power 0.25' \
                    --arm 'p05: --rebalance-power 0.5' -- <common tinct train flags>

``pack`` puts the images the source run held out (``split_indices``: never trained on, the ones ``tinct tune``
and the run's validation use) first in chunk 1; ``unpack`` places them where ``tinct train`` holds out in the
new, smaller dataset, so the device run validates on the same unseen images and never trains on them.
``train`` runs ``tinct train`` as a child, copies each new model file it writes (its checkpoints) into $OUT and
stops it at the deadline, so a run cut short still returns its last model. With ``--arm`` it runs several
``tinct train`` children at once (two answers from one short loan of a GPU) and prints each one's latest
log line every ``--report-s`` seconds; ``--half`` brings snapshots back in float16 (the tool returns at most 8
files, 64 MiB in all).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from tinct.data.prepare import write_manifest, write_shard   # noqa: E402
from tinct.data.shards import ShardDataset      # noqa: E402
from tinct.data.splits import split_indices     # noqa: E402
from tinct.model.io import model_file_step       # noqa: E402

STORE = Path("/tmp/tinct-device")


def encode(rec: np.ndarray) -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(rec).save(buf, "JPEG", quality=75)
    return buf.getvalue()


def pack(args) -> None:
    ds = ShardDataset(args.dataset, "train")
    train_idx, hold_idx = split_indices(len(ds), args.holdout)
    order = list(hold_idx) + list(np.random.default_rng(0).permutation(train_idx))
    budget, pos = int(args.chunk_mb * 1e6), 0
    for c in range(1, args.chunks + 1):
        if pos == len(order):
            break
        out = Path(args.out) / f"c{c:02d}"
        out.mkdir(parents=True, exist_ok=True)
        lengths, labels, held, size = [], [], 0, 0
        with open(out / "data.bin", "wb") as f:
            while pos < len(order) and size < budget:
                i = int(order[pos])
                rec, label = ds[i]
                b = encode(rec)
                f.write(b)
                lengths.append(len(b))
                labels.append(label)
                size += len(b)
                held += pos < len(hold_idx)
                pos += 1
        (out / "index.json").write_text(json.dumps({"lengths": lengths, "labels": labels, "holdout": held,
                                                    "size": ds.size, "source": str(args.dataset)}))
        print(f"{out}: {len(lengths)} images ({held} held out), {size / 1e6:.1f} MB", flush=True)


def stash(args) -> None:
    STORE.joinpath("chunks").mkdir(parents=True, exist_ok=True)
    for c in args.chunks:
        dst = STORE / "chunks" / Path(c).name
        if not dst.exists():
            shutil.copytree(c, str(dst) + ".part")
            os.replace(str(dst) + ".part", dst)
    print("stashed:", sorted(p.name for p in (STORE / "chunks").iterdir()), flush=True)


def _decode(blobs: list[bytes]) -> bytes:
    from PIL import Image
    return b"".join(np.asarray(Image.open(io.BytesIO(b)).convert("RGB"), dtype=np.uint8).tobytes() for b in blobs)


def unpack(out: Path, holdout: int, shard: int = 1000) -> int:
    """Every stashed chunk -> a prepared dataset in ``out``; returns its image count."""
    held, rest = [], []
    size = None
    for c in sorted((STORE / "chunks").iterdir()):
        if c.name.endswith(".part"):
            continue
        idx = json.loads((c / "index.json").read_text())
        data, o = (c / "data.bin").read_bytes(), 0
        size = idx["size"]
        for k, (n, label) in enumerate(zip(idx["lengths"], idx["labels"])):
            (held if k < idx["holdout"] else rest).append((data[o:o + n], label))
            o += n
    n = len(held) + len(rest)
    if len(held) != holdout or holdout > n // 5:
        raise SystemExit(f"unpack: {len(held)} held-out images in the chunks, {n} in all; --holdout {holdout}")
    _, hold_pos = split_indices(n, holdout)
    items, it_rest, is_hold = [None] * n, iter(rest), np.zeros(n, bool)
    is_hold[hold_pos] = True
    for p, h in zip(hold_pos, held):
        items[p] = h
    for p in np.flatnonzero(~is_hold):
        items[p] = next(it_rest)
    out.mkdir(parents=True, exist_ok=True)
    metas, groups = [], [items[i:i + shard] for i in range(0, n, shard)]
    with ProcessPoolExecutor(min(16, os.cpu_count() or 1)) as pool:
        for s, raw in enumerate(pool.map(_decode, [[b for b, _ in g] for g in groups])):
            metas.append(write_shard(out, f"train-{s:05d}", raw, [int(lb) for _, lb in groups[s]]))
    write_manifest(out, size, None, ["train"], metas)
    return n


class Arm:
    """One ``tinct train`` child: its run folder on the machine, its snapshot folder in $OUT, its log."""

    def __init__(self, name: str, flags: list[str], data: Path, out: Path, holdout: int, half: bool, keep: int,
                 threads: int):
        self.name, self.half, self.keep = name, half, keep
        self.run = STORE / (f"run-{name}" if name else "run")
        self.out = out / name if name else out
        shutil.rmtree(self.run, ignore_errors=True)
        self.run.mkdir(parents=True)
        self.out.mkdir(parents=True, exist_ok=True)
        self.log = self.run / "train.log"
        cmd = [sys.executable, "-c", "import sys; from tinct.cli.main import main; sys.exit(main())",
               "train", str(data), "-o", str(self.run), "--holdout", str(holdout), *flags]
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1] / "src"), PYTHONUNBUFFERED="1",
                   OMP_NUM_THREADS=str(threads))    # the arms share the machine's cores
        # the deadline stops a run with SIGINT: give the child the default disposition even when this tool was
        # started in the background of a shell (which ignores SIGINT there, and a child would inherit that)
        self.child = subprocess.Popen(cmd, env=env, stdout=open(self.log, "w"), stderr=subprocess.STDOUT,
                                      preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        self.seen, self.kept = None, []

    def snapshot(self) -> None:
        """Copy the run's model file when it is new, named by the step it records (fp16 with ``half``)."""
        model = self.run / "model.safetensors"
        if not model.exists() or model.stat().st_mtime_ns == self.seen:
            return
        self.seen = model.stat().st_mtime_ns
        tmp = self.out / "model.part"
        shutil.copy(model, tmp)                     # the loop replaces the file atomically: the copy is whole
        if self.half:
            halve(tmp)
        dst = self.out / f"model_s{model_file_step(tmp)}.safetensors"
        os.replace(tmp, dst)
        if dst not in self.kept:
            self.kept.append(dst)
        while len(self.kept) > self.keep:
            self.kept.pop(0).unlink(missing_ok=True)

    def logs(self) -> list[tuple[Path, str]]:
        """(file, name to bring it back as): the run's val.jsonl, config.json, log and newest TensorBoard events."""
        files = [(self.run / n, n) for n in ("val.jsonl", "config.json", "train.log") if (self.run / n).exists()]
        events = sorted((self.run / "tensorboard").glob("events*"))[-1:]
        return files + [(e, "events.tfevents") for e in events]

    def last_line(self) -> str:
        lines = self.log.read_text(errors="replace").replace("\r", "\n").strip().splitlines()
        return lines[-1][-160:] if lines else ""


def halve(path: Path) -> None:
    """Rewrite a model file with its floating-point tensors in float16 where they fit (half the bytes to carry
    back; loading casts them to the network's float32). A tensor with values beyond float16's range (a
    BatchNorm running variance can exceed 65,504) stays float32."""
    from safetensors import safe_open
    from safetensors.torch import save_file
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    tensors = {k: v.half() if v.is_floating_point() and v.abs().max() < 6e4 else v for k, v in tensors.items()}
    save_file(tensors, str(path), metadata=meta)


clock = time.monotonic   # seconds; the deadline and progress reports follow it (tests replace it)


def parse_arm(text: str) -> tuple[str, list[str]]:
    """'NAME: --flag value ...' -> (NAME, flags)."""
    import shlex
    name, _, flags = text.partition(":")
    if not name.strip().replace("-", "").replace("_", "").isalnum():
        raise SystemExit(f"--arm {text!r}: give 'NAME: FLAGS' with a name of letters, digits, '-' and '_'")
    return name.strip(), shlex.split(flags)


def train(args) -> int:
    """Run one ``tinct train`` per arm (all at once, sharing the accelerator), snapshot their models into $OUT,
    stop them all at the deadline. One arm: its files in $OUT; several: each in $OUT/NAME, and every run's log,
    val.jsonl and config in $OUT/logs.tar.gz (the tool brings back at most 8 files)."""
    t0 = clock()
    if args.chunks:
        stash(argparse.Namespace(chunks=args.chunks))
    data, out = STORE / "prep", Path(os.environ.get("OUT", "device-out"))
    out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(data, ignore_errors=True)
    n = unpack(data, args.holdout)
    print(f"unpacked {n} images in {clock() - t0:.1f} s", flush=True)
    common = [a for a in args.flags if a != "--"]
    specs = [parse_arm(a) for a in args.arm] or [("", [])]
    threads = max(1, (os.cpu_count() or 1) // len(specs))
    arms = [Arm(name, common + extra, data, out, args.holdout, args.half, args.keep, threads) for name, extra in specs]
    last_report, stopped = clock(), False
    while any(a.child.poll() is None for a in arms):
        for a in arms:
            a.snapshot()
        if clock() - t0 > args.deadline_s and not stopped:
            print(f"deadline {args.deadline_s} s reached: stopping", flush=True)
            for a in arms:
                if a.child.poll() is None:
                    a.child.send_signal(signal.SIGINT)
            stopped = True
        if stopped and clock() - t0 > args.deadline_s + 30:
            for a in arms:
                a.child.kill()
        if clock() - last_report > args.report_s:
            last_report = clock()
            for a in arms:
                print(f"[{clock() - t0:.0f} s] {a.name or 'run'}: {a.last_line()}", flush=True)
        time.sleep(2)
    for a in arms:
        a.child.wait()
        a.snapshot()                                # the last model written
    if len(arms) == 1:
        for src, name in arms[0].logs():
            if name != "events.tfevents" or src.stat().st_size < 8e6:
                shutil.copy(src, out / name)
    else:
        import tarfile
        with tarfile.open(out / "logs.tar.gz", "w:gz") as tar:
            for a in arms:
                for src, name in a.logs():
                    tar.add(src, f"{a.name}/{name}")
    codes = [a.child.returncode for a in arms]
    for a in arms:
        print(f"{a.name or 'run'}: exit {a.child.returncode}; kept {[p.name for p in a.kept]}", flush=True)
    print(f"{clock() - t0:.0f} s", flush=True)
    return next((c for c in codes if c), 0)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("pack")
    a.add_argument("dataset")
    a.add_argument("out")
    a.add_argument("--chunks", type=int, default=6)
    a.add_argument("--chunk-mb", type=float, default=50.0)
    a.add_argument("--holdout", type=int, default=500)
    a = sub.add_parser("stash")
    a.add_argument("chunks", nargs="+")
    a = sub.add_parser("train")
    a.add_argument("--chunks", nargs="*", default=[])
    a.add_argument("--holdout", type=int, default=500)
    a.add_argument("--deadline-s", type=float, default=500)
    a.add_argument("--keep", type=int, default=3, help="model snapshots kept in $OUT")
    a.add_argument("--arm", action="append", default=[],
                   help="'NAME: FLAGS': one more run at once, with these flags after the common ones (repeatable)")
    a.add_argument("--half", action="store_true", help="snapshots in float16 (half the bytes to bring back)")
    a.add_argument("--report-s", type=float, default=60, help="seconds between progress lines")
    a.add_argument("flags", nargs=argparse.REMAINDER)
    args = p.parse_args()
    return {"pack": pack, "stash": stash, "train": train}[args.cmd](args) or 0


if __name__ == "__main__":
    sys.exit(main())
