"""Build the honest held-out test sets of issue 28 from public collections read in place (git snapshots).

    python tools/make_heldout.py objects --git CALTECH101_GIT -o /work/heldout/objects
    python tools/make_heldout.py faces --git UTKFACE_GIT -o /work/heldout/faces
    python tools/make_heldout.py people --git CCP_GIT --count 150 -o /work/heldout/people

objects: Caltech-101 (MachineLearning2020/Homework2-Caltech101 at CALTECH_COMMIT, `101_ObjectCategories/`).
Whole classes: every category except the background clutter and the two face categories (people belong to
the people set), none of which is one of Imagenette's 10 classes (checked below). Already-grey photos and
photos under 64 px a side are dropped; then at most PER_CLASS photos per class are drawn with a fixed seed.
The held-out class names are written to ``classes.txt``: keep them out of any future training data.

faces: UTKFace ``crop_part1`` (Mohanish-5744/Major_Ensemble_Gender at UTK_COMMIT): 300 photos drawn with
``random.Random(0).sample`` from the sorted file names (all 9,780, grey ones included, as first drawn).

people: whole-figure street photos of Clothing Co-Parsing (bearpaw/clothing-co-parsing at CCP_COMMIT,
``photos/``): ``--count`` photos drawn like the faces. tools/make_trainset.py trains on the other photos.

sample: ``--count`` photos of a folder (e.g. 300 of MiniPlaces train, a training-distribution check set), drawn
with ``random.Random(seed).sample`` of the sorted paths, linked (not copied) into the output folder. Several
``--source FOLDER:COUNT`` draw COUNT from each in turn with the one generator (a mixed training-distribution set
for choosing decodes and sizes: MODEL.md's ``calib_train``).

The files are written byte for byte as stored (no re-encoding) with ``files.txt`` (one relative path a line)
and a README.md naming the source, commit, classes and count. The output folder must not exist yet.
"""
from __future__ import annotations

import argparse
import io
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

CALTECH_COMMIT = "836044d"  # full hash resolved and recorded at run time
UTK_COMMIT = "2f8aa4a5932c395d465f4f58d864b6a17a1b03f6"
CCP_COMMIT = "fe34fb77721a9973fbae92c05f7f12b664d10110"
DRAWN = {"faces": ("crop_part1", UTK_COMMIT), "people": ("photos", CCP_COMMIT)}
IMAGENETTE = {"tench", "english springer", "cassette player", "chain saw", "chainsaw", "church", "french horn",
              "garbage truck", "gas pump", "golf ball", "parachute"}
NOT_OBJECTS = {"BACKGROUND_Google", "Faces", "Faces_easy"}
PER_CLASS = 15
MIN_SIDE = 64
GREY_OPPONENT = 3.0  # mean |R-G| + mean |(R+G)/2-B| on the 0-255 scale below which a photo counts as grey


def git(gitdir: Path, *args: str, data: bytes | None = None) -> bytes:
    return subprocess.run(["git", f"--git-dir={gitdir}", *args], input=data, capture_output=True, check=True).stdout


def list_blobs(gitdir: Path, commit: str, prefix: str) -> dict[str, str]:
    """``{path: blob sha}`` of every file under ``prefix`` at ``commit``."""
    out = git(gitdir, "ls-tree", "-r", commit, "--", prefix).decode()
    blobs = {}
    for line in out.splitlines():
        meta, path = line.split("\t", 1)
        _, kind, sha = meta.split()
        if kind == "blob":
            blobs[path] = sha
    return blobs


def read_blobs(gitdir: Path, shas: list[str]) -> list[bytes]:
    """Contents of the blobs, in order (one ``git cat-file --batch``)."""
    raw = git(gitdir, "cat-file", "--batch", data=("\n".join(shas) + "\n").encode())
    out, pos = [], 0
    for _ in shas:
        end = raw.index(b"\n", pos)
        size = int(raw[pos:end].split()[2])
        out.append(raw[end + 1:end + 1 + size])
        pos = end + 1 + size + 1
    return out


def is_grey_photo(data: bytes) -> bool:
    rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float32)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return float(np.abs(r - g).mean() + np.abs((r + g) / 2 - b).mean()) < GREY_OPPONENT


def small(data: bytes) -> bool:
    return min(Image.open(io.BytesIO(data)).size) < MIN_SIDE


def build_objects(gitdir: Path, commit: str, seed: int, per_class: int) -> tuple[dict[str, bytes], dict]:
    blobs = list_blobs(gitdir, commit, "101_ObjectCategories")
    by_class: dict[str, list[str]] = {}
    for path in sorted(blobs):
        if path.lower().endswith(".jpg"):
            by_class.setdefault(path.split("/")[1], []).append(path)
    classes = sorted(c for c in by_class if c not in NOT_OBJECTS)
    clash = [c for c in classes if c.lower().replace("_", " ") in IMAGENETTE]
    if clash:
        raise SystemExit(f"make_heldout: classes shared with Imagenette: {clash}")
    rng = random.Random(seed)
    chosen: dict[str, bytes] = {}
    stats = {"classes": {}, "grey": 0, "small": 0}
    for c in classes:
        paths = by_class[c]
        datas = read_blobs(gitdir, [blobs[p] for p in paths])
        keep = []
        for p, d in zip(paths, datas):
            if small(d):
                stats["small"] += 1
            elif is_grey_photo(d):
                stats["grey"] += 1
            else:
                keep.append((p, d))
        picked = rng.sample(keep, min(per_class, len(keep)))
        stats["classes"][c] = (len(paths), len(keep), len(picked))
        for p, d in sorted(picked):
            chosen[p.split("/", 1)[1]] = d
    return chosen, stats


def build_drawn(gitdir: Path, commit: str, folder: str, seed: int, count: int) -> tuple[dict[str, bytes], dict]:
    """``count`` files of ``folder`` drawn with ``random.Random(seed).sample`` of the sorted paths."""
    blobs = list_blobs(gitdir, commit, folder)
    paths = sorted(p for p in blobs if p.lower().endswith(".jpg"))
    picked = sorted(random.Random(seed).sample(paths, count))
    datas = read_blobs(gitdir, [blobs[p] for p in picked])
    return {p.split("/", 1)[1]: d for p, d in zip(picked, datas)}, {"pool": len(paths)}


def write_set(out: Path, files: dict[str, bytes], readme: str) -> None:
    out.mkdir(parents=True)
    for rel, d in files.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(d)
    (out / "files.txt").write_text("".join(f"{rel}\n" for rel in sorted(files)))
    (out / "README.md").write_text(readme)


def write_sample(sources: list[str], out: Path, seed: int, count: int) -> int:
    """Link ``count`` photos of one folder, or COUNT of each ``FOLDER:COUNT`` in turn (one generator), into
    ``out``; ``files.txt`` lists them relative to their folder (prefixed by it when there are several)."""
    from tinct.files.read import list_images
    rng, lines, several = random.Random(seed), [], len(sources) > 1
    out.mkdir(parents=True)
    for j, spec in enumerate(sources):
        folder, _, k = spec.rpartition(":") if ":" in spec else (spec, "", "")
        source, prefix = Path(folder), f"{j:02d}-" if several else ""
        picked = sorted(rng.sample(list_images(source), int(k) if k else count))
        for i, path in enumerate(picked):
            (out / f"{prefix}{i:04d}_{path.name}").symlink_to(path.resolve())
            lines.append(f"{path if several else path.relative_to(source)}\n")
    (out / "files.txt").write_text("".join(lines))
    print(f"{out}: {len(lines)} links into {', '.join(sources)} (seed {seed})")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("which", choices=["objects", "faces", "people", "sample"])
    p.add_argument("--git", type=Path, help="git directory of the snapshot, read in place")
    p.add_argument("--source", nargs="+", help="sample: the folder to draw from, or several FOLDER:COUNT")
    p.add_argument("--commit", default=None)
    p.add_argument("-o", "--output", type=Path, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--per-class", type=int, default=PER_CLASS)
    p.add_argument("--count", type=int, default=300, help="faces, people or sample photos drawn")
    a = p.parse_args(argv)
    if a.output.exists():
        print(f"make_heldout: {a.output}: already exists (not written over)", file=sys.stderr)
        return 2
    if a.which == "sample":
        return write_sample(a.source, a.output, a.seed, a.count)
    default = CALTECH_COMMIT if a.which == "objects" else DRAWN[a.which][1]
    commit = git(a.git, "rev-parse", a.commit or default).decode().strip()
    cmd = "python tools/make_heldout.py " + " ".join(argv if argv is not None else sys.argv[1:])
    if a.which == "objects":
        files, st = build_objects(a.git, commit, a.seed, a.per_class)
        rows = "".join(f"| {c} | {n} | {k} | {m} |\n" for c, (n, k, m) in st["classes"].items())
        readme = (f"# Held-out object classes (issue 28)\n\nSource: Caltech-101 (Fei-Fei, Fergus, Perona 2004; "
                  f"research use) as published in the public repository MachineLearning2020/Homework2-Caltech101, "
                  f"commit {commit}, `101_ObjectCategories/`, read in place.\n\nBuilt by `{cmd}` (seed {a.seed}). "
                  f"{len(files)} colour photos of {sum(m > 0 for _, _, m in st['classes'].values())} whole classes "
                  f"(of {len(st['classes'])} held out), at most {a.per_class} a class; "
                  f"dropped: {st['grey']} already grey, {st['small']} under {MIN_SIDE} px. Not used: "
                  f"{', '.join(sorted(NOT_OBJECTS))}. No class is one of Imagenette's 10. "
                  f"**Never train, tune or choose on these classes** (`classes.txt`).\n\n"
                  f"| class | files | colour | drawn |\n| --- | --- | --- | --- |\n{rows}")
        write_set(a.output, files, readme)
        (a.output / "classes.txt").write_text("".join(f"{c}\n" for c in st["classes"]))
    elif a.which == "people":
        files, st = build_drawn(a.git, commit, DRAWN["people"][0], a.seed, a.count)
        readme = (f"# Held-out whole-figure people (issue 28)\n\nSource: Clothing Co-Parsing (Yang, Luo, Lin, "
                  f"CVPR 2014; street-fashion photos, one standing person, about 550x830 px; repository under "
                  f"Apache-2.0) as published in bearpaw/clothing-co-parsing, commit {commit}, `photos/`, read in "
                  f"place.\n\nBuilt by `{cmd}`: {len(files)} of {st['pool']} photos, `random.Random({a.seed}).sample` "
                  f"of the sorted names. tools/make_trainset.py leaves them out of the training copy (`ccp`). Mostly "
                  f"young adult women, mostly light-skinned, no children: not the breadth of ages and skin tones "
                  f"issue 28 asks for.\n")
        write_set(a.output, files, readme)
    else:
        files, st = build_drawn(a.git, commit, DRAWN["faces"][0], a.seed, a.count)
        readme = (f"# Held-out faces (issue 28)\n\nSource: UTKFace `crop_part1` (non-commercial research only; "
                  f"copyright with the original owners) as published in Mohanish-5744/Major_Ensemble_Gender, commit "
                  f"{commit}, read in place.\n\nBuilt by `{cmd}`: {len(files)} of {st['pool']} files, "
                  f"`random.Random({a.seed}).sample` of the sorted names. Keep them out of any training data.\n")
        write_set(a.output, files, readme)
    print(f"{a.output}: {len(files)} files")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
