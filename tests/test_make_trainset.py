"""tools/make_trainset.py: a pinned snapshot extracted in place, held-out classes and files removed, a manifest."""
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from helpers import load_script

ROOT = Path(__file__).resolve().parents[1]


def load_tool():
    return load_script("tools/make_trainset.py")


def jpeg(path: Path, seed: int, size=(80, 96)):
    px = np.random.default_rng(seed).integers(0, 255, (*size, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(px).save(path, quality=95)


@pytest.fixture
def snapshot(tmp_path):
    """A repo with train/<synset>/images/*.JPEG, val/images + val_annotations.txt, words.txt, people/ photos."""
    repo = tmp_path / "snapshots" / "someone+data" / "repo"
    for i in range(3):
        jpeg(repo / "ds/train/n001/images" / f"n001_{i}.JPEG", i)        # kept: kettle
        jpeg(repo / "ds/train/n002/images" / f"n002_{i}.JPEG", 10 + i)   # held out by synset: lamp
        jpeg(repo / "ds/people" / f"{i:04d}.jpg", 20 + i)
    for name in ("0000", "0001", "0100"):                                # the same photos under another crop
        jpeg(repo / "ds/aligned" / f"{name}.jpg", 60 + int(name))
    jpeg(repo / "ds/train/n001/images/twin.JPEG", 77)                    # a held-out photo under another name
    jpeg(repo / "ds/valset/dup.JPEG", 1)                                 # a test photo that is also n001_1
    jpeg(repo / "ds/copy/k/0000.jpg", 20)                                # byte for byte people/0000.jpg
    jpeg(repo / "ds/copy/k/0002.jpg", 99)                                # a name of people/, other content
    jpeg(repo / "ds/train/n001/images/tiny.JPEG", 30, size=(40, 90))     # under 64 px
    (repo / "ds/train/n001/n001_boxes.txt").write_text("x\n")
    jpeg(repo / "ds/val/images/val_0.JPEG", 40)
    jpeg(repo / "ds/val/images/val_1.JPEG", 41)
    (repo / "ds/val/val_annotations.txt").write_text("val_0.JPEG\tn001\t0\t0\t1\t1\nval_1.JPEG\tn002\t0\t0\t1\t1\n")
    (repo / "ds/words.txt").write_text("n001\tkettle\nn002\ttable lamp, lamp\nn003\tpigeon hawk\n")
    jpeg(repo / "elsewhere/skip.jpg", 50)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(git[:3] + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-qm", "x"], check=True)
    commit = subprocess.run(git[:3] + ["rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    heldout = tmp_path / "heldout"
    (heldout / "objects").mkdir(parents=True)
    (heldout / "objects" / "classes.txt").write_text("lamp\npigeon\n")
    jpeg(heldout / "objects" / "lamp" / "image_0001.jpg", 77)
    (heldout / "people").mkdir()
    (heldout / "people" / "files.txt").write_text("0001.jpg\n")
    return tmp_path / "snapshots", commit, heldout


def sources(tool, commit):
    objects = tool.Source("objs", "someone/data", commit, ("ds/train", "ds/val"), "test licence",
                          drop_classes=("n002",), names_file="ds/words.txt",
                          annotations={"ds/val": "ds/val/val_annotations.txt"}, not_in=("ds/valset",))
    people = tool.Source("people", "someone/data", commit, ("ds/people",), "test licence", class_depth=0,
                         heldout_files="people")
    aligned = tool.Source("aligned", "someone/data", commit, ("ds/aligned",), "test licence", class_depth=0,
                          heldout_files="people", same_as="people")
    copy = tool.Source("copy", "someone/data", commit, ("ds/copy",), "test licence", same_as="people", same_by="blob")
    return objects, people, aligned, copy


def test_extracts_in_place_without_heldout_classes_files_or_small_images(snapshot, tmp_path, monkeypatch):
    snaps, commit, heldout = snapshot
    tool = load_tool()
    objects, people, aligned, copy = sources(tool, commit)
    monkeypatch.setattr(tool, "SOURCES", {"objs": objects, "people": people, "aligned": aligned, "copy": copy})
    out = tmp_path / "out"
    argv = ["objs", "people", "aligned", "copy", "--snapshots", str(snaps), "--heldout", str(heldout), "-o", str(out)]
    assert tool.main(argv) == 0
    kept = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert kept == ["aligned/MANIFEST.json", "aligned/ds/aligned/0100.jpg",
                    "copy/MANIFEST.json", "copy/ds/copy/k/0002.jpg", "objs/MANIFEST.json",
                    "objs/ds/train/n001/images/n001_0.JPEG", "objs/ds/train/n001/images/n001_2.JPEG",
                    "objs/ds/val/images/val_0.JPEG",
                    "people/MANIFEST.json", "people/ds/people/0000.jpg", "people/ds/people/0002.jpg"]
    src = snaps / "someone+data" / "repo"
    assert (out / "objs/ds/val/images/val_0.JPEG").read_bytes() == (src / "ds/val/images/val_0.JPEG").read_bytes()
    m = json.loads((out / "objs" / "MANIFEST.json").read_text())
    assert m["commit"] == commit and m["licence"] == "test licence" and m["repository"] == "someone/data"
    assert m["per_class"] == {"n001": 3} and m["images"] == 3 and m["dropped_classes"] == ["n002"]
    assert m["dropped"] == {"heldout_classes": 4, "heldout_files": 2, "duplicates": 0, "small": 1, "unreadable": 0,
                           "not_images": 2}
    assert m["names"] == {"n001": "kettle"}
    p = json.loads((out / "people" / "MANIFEST.json").read_text())
    assert p["per_class"] == {"people": 2} and p["dropped"]["heldout_files"] == 1
    d = json.loads((out / "aligned" / "MANIFEST.json").read_text())
    assert d["images"] == 1 and d["dropped"]["heldout_files"] == 1 and d["dropped"]["duplicates"] == 1
    c = json.loads((out / "copy" / "MANIFEST.json").read_text())
    assert c["per_class"] == {"k": 1} and c["dropped"]["duplicates"] == 1 and c["duplicates_of"] == "people"
    assert not list(out.glob(".*.part"))
    # never written over: that source is refused, the rest of the batch goes on
    (out / "people" / "MANIFEST.json").write_text("mine")
    assert tool.main(argv) == 2
    assert (out / "people" / "MANIFEST.json").read_text() == "mine"


def test_a_kept_class_named_like_a_heldout_class_stops_the_source(snapshot, tmp_path, monkeypatch, capsys):
    snaps, commit, heldout = snapshot
    tool = load_tool()
    objects = sources(tool, commit)[0]
    leaky = tool.Source("objs", objects.repo, commit, objects.paths, objects.licence, drop_classes=(),
                        names_file=objects.names_file, annotations=objects.annotations)
    monkeypatch.setattr(tool, "SOURCES", {"objs": leaky})
    out = tmp_path / "out"
    argv = ["objs", "--snapshots", str(snaps), "--heldout", str(heldout), "-o", str(out)]
    assert tool.main(argv) == 2
    err = capsys.readouterr().err
    assert "n002 (table lamp, lamp) ~ lamp" in err and err.count("\n") == 1
    assert not out.exists() or not any(out.iterdir())


def test_missing_heldout_list_is_refused(snapshot, tmp_path, monkeypatch, capsys):
    snaps, commit, heldout = snapshot
    tool = load_tool()
    people = sources(tool, commit)[1]
    (heldout / "people" / "files.txt").unlink()
    monkeypatch.setattr(tool, "SOURCES", {"people": people})
    assert tool.main(["people", "--snapshots", str(snaps), "--heldout", str(heldout), "-o", str(tmp_path / "o")]) == 2
    assert "people/files.txt: missing" in capsys.readouterr().err


def test_name_check_matches_whole_words_and_synonyms():
    tool = load_tool()
    held = {c: tool.words(tool.HELDOUT_ALIASES.get(c.lower(), c))
            for c in ("lamp", "cougar_body", "water_lilly", "watch")}
    assert tool.clashes("cougar, puma, catamount", held) == ["cougar_body"]
    assert tool.clashes("lampshade, lamp shade", held) == ["lamp"]
    assert tool.clashes("stopwatch", held) == []          # whole words only (dropped by hand in SOURCES)
    assert tool.clashes("Fragrant water lily", held) == ["water_lilly"]
    assert tool.clashes("table lamps", held) == ["lamp"]


def test_pinned_sources_hold_out_the_tiny_imagenet_overlap():
    tool = load_tool()
    for s in tool.SOURCES.values():
        assert len(s.commit) == 40 and s.licence
    tiny = tool.SOURCES["tiny"]
    assert len(set(tiny.drop_classes)) == 19 and "n02125311" in tiny.drop_classes  # the 18 + the cougar
    assert tool.SOURCES["utk"].heldout_files == "faces" and tool.SOURCES["ccp"].heldout_files == "people"


def test_a_commit_missing_from_the_snapshot_is_one_clear_line(snapshot, tmp_path, monkeypatch, capsys):
    snaps, _, heldout = snapshot
    tool = load_tool()
    gone = tool.Source("gone", "someone/data", "0" * 40, ("ds/people",), "test licence", class_depth=0)
    monkeypatch.setattr(tool, "SOURCES", {"gone": gone})
    assert tool.main(["gone", "--snapshots", str(snaps), "--heldout", str(heldout), "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("make_trainset: ") and "rev-parse" in err and err.count("\n") == 1
    assert not (tmp_path / "o" / "gone").exists()
