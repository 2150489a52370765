"""Extract the v3 training collections (issue 28) from public git snapshots read in place, held-out data removed.

    python tools/make_trainset.py cub clothing ccp --snapshots SNAPSHOTS --heldout /work/heldout -o /work/data/src

Each source in ``SOURCES`` is a public repository pinned at a full commit; its folders are extracted with
``git archive COMMIT PATH | tar -x`` (files byte for byte) into ``OUTPUT/NAME/``, then pruned of: whole classes
overlapping the held-out object classes (``drop_classes``; in Tiny's ``val/`` through its annotations); the files of
a held-out set (``heldout_files``: ``HELDOUT/SET/files.txt``); any file with the bytes of a held-out photo or of a
file in ``not_in`` (val, test); photos another source has (``same_as``, by base name or by content); images under
``MIN_SIDE`` px or unreadable; non-images. First, every kept class name is checked against the held-out classes by
whole words: a match neither dropped nor in ``allow`` (reviewed) stops that source. ``MANIFEST.json`` records source,
commit, licence, counts per class, what was removed. Work happens in ``OUTPUT/.NAME.part``; an existing ``OUTPUT/NAME``
is refused. Bad sources: one line each, the others go on, exit 2. ``SNAPSHOTS/owner+name``: a git dir (or ``repo/``).
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

MIN_SIDE = 64
IMAGE_EXTS = {".jpg", ".jpeg", ".png"}
# Tiny ImageNet synsets sharing a class with the held-out classes: the 18 of MODEL.md and the cougar (n02125311)
TINY_HELDOUT = ("n02795169", "n02841315", "n01917289", "n02279972", "n02281406", "n02950826", "n04099969",
                "n01984695", "n01983481", "n02268443", "n02504458", "n03637318", "n02509815", "n07873807",
                "n01770393", "n01768244", "n04507155", "n04328186", "n02125311")
# name-check hits reviewed: koala ("kangaroo bear"); cars (the held-out car_side class has no colour photo)
TINY_ALLOW = ("n01882714", "n02814533", "n03393912", "n04285008")
IMAGENETTE_NAMES = {"n01440764": "tench", "n02102040": "English springer", "n02979186": "cassette player",
                    "n03000684": "chain saw", "n03028079": "church", "n03394916": "French horn", "n03417042":
                    "garbage truck", "n03425413": "gas pump", "n03445777": "golf ball", "n03888605": "parachute"}
# held-out class folder names -> the object they show, for the name check
HELDOUT_ALIASES = {"leopards": "leopard", "motorbikes": "motorbike", "airplanes": "airplane", "car_side": "car",
                   "cougar_body": "cougar", "cougar_face": "cougar", "crocodile_head": "crocodile",
                   "flamingo_head": "flamingo", "water_lilly": "water lily", "dollar_bill": "dollar bill"}


@dataclass(frozen=True)
class Source:
    name: str                       # output subfolder
    repo: str                       # owner/name of the public snapshot
    commit: str                     # full hash
    paths: tuple[str, ...]          # folders extracted
    licence: str
    class_depth: int = 1            # class = first N path parts below the extracted folder (0: one class, the name)
    drop_classes: tuple[str, ...] = ()
    heldout_files: str | None = None  # held-out set whose files.txt lists files to drop (relative to paths[0])
    annotations: dict[str, str] = field(default_factory=dict)  # folder -> file "image<TAB>class..." (Tiny val)
    names_file: str | None = None   # "class<TAB>readable name" lines (Tiny words.txt) or a JSON {class: name}
    names: dict[str, str] = field(default_factory=dict)
    allow: tuple[str, ...] = ()     # classes the name check flags that are not the held-out object (reviewed)
    same_as: str | None = None      # another source: its photos found here again are dropped as duplicates
    same_by: str = "name"           # ... matched by base "name" or by file content ("blob")
    not_in: tuple[str, ...] = ()    # folders of the snapshot never trained on (val, test): identical files dropped


SOURCES = {s.name: s for s in (
    Source("mp", "rathull/CTFs", "f35c219885f163ca00a045236dd44be489598837", ("data/images/train",),
           "MIT CSAIL MiniPlaces: non-commercial research and education", class_depth=2,
           not_in=("data/images/val", "data/images/test")),
    Source("tiny", "rangeetpan/IMagenet", "6125d8a1069df02232eb57678fd46c700411dd45",
           ("tiny-imagenet-200/train", "tiny-imagenet-200/val"),
           "Stanford CS231n Tiny ImageNet; ImageNet terms of access (non-commercial research/education)",
           drop_classes=TINY_HELDOUT, allow=TINY_ALLOW, names_file="tiny-imagenet-200/words.txt",
           annotations={"tiny-imagenet-200/val": "tiny-imagenet-200/val/val_annotations.txt"}),
    Source("inet", "thunderInfy/imagenette", "b850f030ff0701c36a4adc8b928ea9483a46915b", ("train",),
           "Imagenette (fast.ai), ImageNet terms of access", names=IMAGENETTE_NAMES),
    Source("utk", "Mohanish-5744/Major_Ensemble_Gender", "2f8aa4a5932c395d465f4f58d864b6a17a1b03f6",
           ("crop_part1",), "UTKFace: non-commercial research only", class_depth=0, heldout_files="faces"),
    Source("cub", "serizba/vision", "16a8a47ea88abb31d9b61b81dbbe09347bf72385",
           ("ex03/task2/bird_dataset/images",),
           "Caltech-UCSD Birds-200-2011 (100-class subset): non-commercial research and education",
           allow=("Pigeon_Guillemot", "Scissor_tailed_Flycatcher")),  # seabird and flycatcher: no pigeon, no scissors
    Source("clothing", "alexeygrigorev/clothing-dataset-small", "11961516512414bf9f6c150a832cfd21b54a6b54",
           ("train", "validation", "test"), "CC0 1.0 (public domain)"),
    Source("flowers", "alonw/image-classifier-102", "f7b6415a7992fdb766d45f3200e49d0e8453bff8",
           ("flower_data/train", "flower_data/valid", "flower_data/test"),
           "Oxford 102 Category Flowers (Nilsback, Zisserman 2008; VGG, research use; cite the ICVGIP 2008 paper)",
           names_file="cat_to_name.json", drop_classes=("54", "73", "78")),  # sunflower, water lily, lotus: held out
    Source("mp_rest", "sulekahraman/miniplaces", "bbba576d70c3237054b40520a6cd95cfa17a351f", ("data/train",),
           "MIT CSAIL MiniPlaces: non-commercial research and education (the train photos `mp` lacks; never val/test)",
           same_as="mp", same_by="blob", not_in=("data/val", "data/test")),
    Source("utk_aligned", "xerow03/UTKFace", "d5a7ff2988caf3f49d2c6b47c7569fcf3fc85a0f", ("data",),
           "UTKFace (aligned and cropped, 200x200): non-commercial research only", class_depth=0,
           heldout_files="faces", same_as="utk"),
    Source("ccp", "bearpaw/clothing-co-parsing", "fe34fb77721a9973fbae92c05f7f12b664d10110", ("photos",),
           "Clothing Co-Parsing (Yang, Luo, Lin 2014), repository under Apache-2.0; cite the CVPR 2014 paper",
           class_depth=0, heldout_files="people"),
)}


class BadSource(Exception):
    """A source that cannot be built as asked (one line, naming the cause)."""


def git(gitdir: Path, *args: str) -> bytes:
    run = subprocess.run(["git", f"--git-dir={gitdir}", *args], capture_output=True)
    if run.returncode:
        raise BadSource(f"{gitdir}: git {' '.join(args)}: {run.stderr.decode().strip()}")
    return run.stdout


def find_gitdir(snapshots: Path, repo: str) -> Path:
    base = snapshots / repo.replace("/", "+")
    for cand in (base / "repo" / ".git", base / "repo", base):
        if (cand / "HEAD").is_file() and (cand / "objects").is_dir():
            return cand
    raise BadSource(f"{base}: no git snapshot of {repo}")


def words(text: str) -> list[str]:
    return [w[:-1] if w.endswith("s") and len(w) > 3 else w for w in re.findall(r"[a-z]+", text.lower())]


def heldout_names(heldout: Path) -> dict[str, list[str]]:
    """``{held-out class: its name as words}`` from ``HELDOUT/objects/classes.txt``."""
    path = heldout / "objects" / "classes.txt"
    if not path.is_file():
        raise BadSource(f"{path}: missing (the held-out object classes are needed for the name check)")
    return {c: words(HELDOUT_ALIASES.get(c.lower(), c)) for c in path.read_text().split()}


def clashes(name: str, held: dict[str, list[str]]) -> list[str]:
    """Held-out classes whose words occur, in order and whole, in one of ``name``'s comma-separated synonyms."""
    hits = []
    for synonym in name.split(","):
        w = words(synonym)
        for c, hw in held.items():
            if hw and any(w[i:i + len(hw)] == hw for i in range(len(w) - len(hw) + 1)) and c not in hits:
                hits.append(c)
    return hits


def heldout_blobs(heldout: Path) -> set[str]:
    """Git blob ids of every file of the held-out sets: a training file with the same bytes is dropped."""
    paths = "".join(f"{p}\n" for p in sorted(heldout.rglob("*")) if p.is_file() and p.suffix.lower() in IMAGE_EXTS)
    run = subprocess.run(["git", "hash-object", "--stdin-paths"], input=paths.encode(), capture_output=True, check=True)
    return set(run.stdout.decode().split())


def list_files(gitdir: Path, commit: str, paths: tuple[str, ...]) -> dict[str, str]:
    """``{path: blob sha}`` of the files under ``paths`` at ``commit``."""
    out = git(gitdir, "ls-tree", "-r", "-z", commit, "--", *paths).decode()
    return {entry.split("\t", 1)[1]: entry.split()[2] for entry in out.split("\0") if entry}


def class_of(src: Source, path: str, annotated: dict[str, str]) -> str | None:
    """The class of the file at repository ``path`` (None: not under an extracted folder or not annotated)."""
    for top in src.paths:
        if path.startswith(top + "/"):
            rel = path[len(top) + 1:]
            if top in src.annotations:
                return annotated.get(rel.rsplit("/", 1)[-1])
            parts, depth = rel.split("/"), src.class_depth
            return src.name if depth == 0 else ("/".join(parts[:depth]) if len(parts) > depth else None)
    return None


def read_annotations(gitdir: Path, commit: str, src: Source) -> dict[str, str]:
    rows = [line.split("\t") for ann in src.annotations.values()
            for line in git(gitdir, "show", f"{commit}:{ann}").decode().splitlines()]
    return {cols[0]: cols[1] for cols in rows if len(cols) >= 2}


def read_names(gitdir: Path, commit: str, src: Source) -> dict[str, str]:
    names = dict(src.names)
    if src.names_file:
        text = git(gitdir, "show", f"{commit}:{src.names_file}").decode()
        pairs = json.loads(text).items() if src.names_file.endswith(".json") else \
            (line.partition("\t")[::2] for line in text.splitlines())
        for key, val in pairs:
            names.setdefault(key, val)
    return names


def image_ok(path: Path) -> str:
    """'ok', 'small' or 'unreadable' (reads the header only)."""
    try:
        return "ok" if min(Image.open(path).size) >= MIN_SIDE else "small"
    except Exception:  # noqa: BLE001 - any decoder failure means the file is not a usable image
        return "unreadable"


def same_key(path: str, blob: str, by: str) -> str:
    return blob if by == "blob" else Path(path).name


def keys_of(snapshots: Path, name: str, by: str) -> set[str]:
    """Base names or blob ids of the image files of source ``name`` (photos found again: duplicates)."""
    other = SOURCES[name]
    listed = list_files(find_gitdir(snapshots, other.repo), other.commit, other.paths)
    return {same_key(p, b, by) for p, b in listed.items() if Path(p).suffix.lower() in IMAGE_EXTS}


def build_source(src: Source, snapshots: Path, out: Path, heldout: Path, command: str = "") -> dict:
    """Extract and prune ``src`` into ``out/src.name``; return the manifest. Raises BadSource, writes nothing then."""
    final, part = out / src.name, out / f".{src.name}.part"
    if final.exists():
        raise BadSource(f"{final}: already exists (not written over)")
    gitdir = find_gitdir(snapshots, src.repo)
    commit = git(gitdir, "rev-parse", "--verify", f"{src.commit}^{{commit}}").decode().strip()
    held = heldout_names(heldout)
    listing = heldout / src.heldout_files / "files.txt" if src.heldout_files else None
    if listing and not listing.is_file():
        raise BadSource(f"{listing}: missing (build the held-out set first: tools/make_heldout.py)")
    held_files = {f"{src.paths[0]}/{line}" for line in listing.read_text().split()} if listing else set()
    duplicates = keys_of(snapshots, src.same_as, src.same_by) if src.same_as else set()
    avoid = heldout_blobs(heldout) | (set(list_files(gitdir, commit, src.not_in).values()) if src.not_in else set())
    annotated = read_annotations(gitdir, commit, src)
    names = read_names(gitdir, commit, src)
    listed = list_files(gitdir, commit, src.paths)
    classes = sorted({c for p in listed if (c := class_of(src, p, annotated)) and Path(p).suffix.lower() in IMAGE_EXTS})
    flagged = {c: hits for c in classes if c not in src.drop_classes and c not in src.allow
               and (hits := clashes(names.get(c, c), held))}
    if flagged:
        raise BadSource(f"{src.name}: classes share a name with held-out classes: "
                        + "; ".join(f"{c} ({names.get(c, c)}) ~ {', '.join(h)}" for c, h in flagged.items()))
    missing = held_files - set(listed)
    if missing:
        raise BadSource(f"{src.name}: {len(missing)} held-out files are not in the snapshot, e.g. {sorted(missing)[0]}")
    shutil.rmtree(part, ignore_errors=True)
    part.mkdir(parents=True)
    try:
        for top in src.paths:
            archive = subprocess.Popen(["git", f"--git-dir={gitdir}", "archive", commit, top],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            untar = subprocess.run(["tar", "-x", "-C", str(part)], stdin=archive.stdout)
            if archive.wait() != 0 or untar.returncode:  # (a snapshot lacking unrelated big blobs may warn on success)
                raise BadSource(f"{src.name}: git archive {commit} {top} failed: {archive.stderr.read().decode()}")
        counts: dict[str, int] = {}
        dropped = dict.fromkeys(("heldout_classes", "heldout_files", "duplicates", "small", "unreadable",
                                 "not_images"), 0)
        for path in listed:
            local = part / path
            cls = class_of(src, path, annotated)
            if Path(path).suffix.lower() not in IMAGE_EXTS or cls is None:
                why = "not_images"
            elif cls in src.drop_classes:
                why = "heldout_classes"
            elif path in held_files or listed[path] in avoid:
                why = "heldout_files"
            elif same_key(path, listed[path], src.same_by) in duplicates:
                why = "duplicates"
            else:
                why = image_ok(local)
            if why == "ok":
                counts[cls] = counts.get(cls, 0) + 1
            else:
                dropped[why] += 1
                local.unlink(missing_ok=True)
        for d in sorted((p for p in part.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            if not any(d.iterdir()):
                d.rmdir()
        manifest = {"source": src.name, "repository": src.repo, "commit": commit, "paths": list(src.paths),
                    "licence": src.licence, "images": sum(counts.values()), "classes": len(counts),
                    "dropped": dropped, "duplicates_of": src.same_as, "command": command,
                    "dropped_classes": sorted(set(src.drop_classes) & set(classes)),
                    "allowed_name_matches": {c: clashes(names.get(c, c), held) for c in src.allow if c in classes},
                    "per_class": {c: counts[c] for c in sorted(counts)},
                    "names": {c: names[c] for c in sorted(counts) if c in names}}
        (part / "MANIFEST.json").write_text(json.dumps(manifest, indent=1) + "\n")
        part.rename(final)
        return manifest
    except BaseException:
        shutil.rmtree(part, ignore_errors=True)
        raise


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("sources", nargs="+", choices=sorted(SOURCES), help="sources to extract")
    p.add_argument("--snapshots", type=Path, required=True, help="folder of snapshots named owner+name")
    p.add_argument("--heldout", type=Path, required=True, help="held-out sets (objects/classes.txt, faces/, people/)")
    p.add_argument("-o", "--output", type=Path, required=True)
    a = p.parse_args(argv)
    command = "python tools/make_trainset.py " + " ".join(argv if argv is not None else sys.argv[1:])
    rc = 0
    for name in a.sources:
        src = SOURCES[name]
        try:
            m = build_source(src, a.snapshots, a.output, a.heldout, command)
            print(f"{a.output / name}: {m['images']} images, {m['classes']} classes "
                  f"({src.repo}@{m['commit'][:10]}); dropped {m['dropped']}")
        except BadSource as exc:
            print(f"make_trainset: {exc}", file=sys.stderr)
            rc = 2
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
